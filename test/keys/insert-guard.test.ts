import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { rolesThatMay } from "../../src/access/policy";
import { insertAiKey, insertStorageKey } from "../../src/db/key-rows";
import { team } from "../support/api";

/**
 * The create statements on their own, against the real D1: the insert re-checks the creator's
 * role and the repo's quota itself, so a role changed between the membership read and the write
 * (or a request racing another) cannot create a key the policy would refuse.
 */
/** The columns every new key row has, for a key created by `createdBy` in `repoId`. */
function newKeyRow(repoId: string, createdBy: string) {
  const id = crypto.randomUUID();
  const at = new Date().toISOString();
  return {
    id,
    repoId,
    name: "guarded",
    key: `KEY${id.replace(/-/g, "").toUpperCase()}`,
    sealedSecret: "aesgcm.t2.x.y",
    createdBy,
    createdAt: at,
    updatedAt: at,
    expiresAt: null,
    ratelimitLimit: null,
    ratelimitPeriodSeconds: null,
    quota: 100,
  };
}

function storageRow(repoId: string, createdBy: string, overrides: Record<string, unknown> = {}) {
  return {
    ...newKeyRow(repoId, createdBy),
    accessType: "READ" as const,
    secretDigest: `t2.${crypto.randomUUID()}`,
    creatorRoles: JSON.stringify(
      rolesThatMay("apikey.create", { resource: { accessType: "READ" } }),
    ),
    ...overrides,
  };
}

async function written(statement: D1PreparedStatement): Promise<number> {
  return (await statement.run()).meta.changes;
}

async function stored(id: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM storage_keys WHERE id = ?")
    .bind(id)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

describe("the storage-key insert", () => {
  it("writes for a member holding one of the creator roles", async () => {
    const { writer, repoId } = await team();
    const row = storageRow(repoId, writer);
    expect(await written(insertStorageKey(env.DB, row))).toBe(1);
    expect(await stored(row.id)).toBe(1);
  });

  it("writes nothing for a member whose role is not among them", async () => {
    const { writer, reader, repoId } = await team();
    // An ADMIN key: only ADMINs may create it; the WRITE member's row is refused in SQL.
    const adminKey = storageRow(repoId, writer, {
      accessType: "ADMIN",
      creatorRoles: JSON.stringify(
        rolesThatMay("apikey.create", { resource: { accessType: "ADMIN" } }),
      ),
    });
    expect(await written(insertStorageKey(env.DB, adminKey))).toBe(0);
    const byReader = storageRow(repoId, reader);
    expect(await written(insertStorageKey(env.DB, byReader))).toBe(0);
    expect(await stored(adminKey.id)).toBe(0);
    expect(await stored(byReader.id)).toBe(0);
  });

  it("writes nothing for someone outside the repo's workspace, or for a repo that does not exist", async () => {
    const { admin, outsider, repoId } = await team();
    expect(await written(insertStorageKey(env.DB, storageRow(repoId, outsider)))).toBe(0);
    const other = await team();
    // An ADMIN of another workspace is nobody here.
    expect(await written(insertStorageKey(env.DB, storageRow(repoId, other.admin)))).toBe(0);
    expect(await written(insertStorageKey(env.DB, storageRow(crypto.randomUUID(), admin)))).toBe(0);
  });

  it("writes nothing once the repo has `quota` active keys", async () => {
    const { admin, repoId } = await team();
    expect(await written(insertStorageKey(env.DB, storageRow(repoId, admin, { quota: 1 })))).toBe(
      1,
    );
    const over = storageRow(repoId, admin, { quota: 1 });
    expect(await written(insertStorageKey(env.DB, over))).toBe(0);
    expect(await stored(over.id)).toBe(0);
  });
});

describe("the AI-key insert", () => {
  it("checks the creator's role the same way", async () => {
    const { writer, reader, repoId } = await team();
    const row = (createdBy: string) => ({
      ...newKeyRow(repoId, createdBy),
      aiType: "OTHER" as const,
      secretDigest: `t2.${crypto.randomUUID()}`,
      creatorRoles: JSON.stringify(rolesThatMay("aiApikey.create")),
    });
    expect(await written(insertAiKey(env.DB, row(writer)))).toBe(1);
    expect(await written(insertAiKey(env.DB, row(reader)))).toBe(0);
  });
});
