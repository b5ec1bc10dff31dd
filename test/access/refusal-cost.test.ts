import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { addMember, expectError, newUser } from "../support/api";
import { auditEvent, quietWorkspace, seedEvents } from "../support/audit";
import { callWith, createAiKey, createStorageKey, unknownId } from "../support/keys";
import { sessionsThrough } from "../support/sessions";

/**
 * The real D1 database, adding up the rows SQLite read (D1's `meta.rows_read`) in every batch:
 * what a request cost, independent of the machine's speed.
 */
function rowsReadDb(): { db: D1Database; rowsRead: () => number } {
  let rows = 0;
  const db = new Proxy(env.DB, {
    get(target, property) {
      if (property === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          const results = await target.batch(statements);
          for (const result of results) rows += result.meta.rows_read ?? 0;
          return results;
        };
      }
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { db: sessionsThrough(db), rowsRead: () => rows };
}

const KEYS = 30;
const EVENTS = 60;

let world: Awaited<ReturnType<typeof quietWorkspace>> & { reader: string; storageKeyId: string };

beforeAll(async () => {
  const base = await quietWorkspace();
  const reader = newUser("reader");
  await addMember(base.admin, base.workspaceId, reader, "READ");
  const minute = Math.floor(Date.now() / 60_000) * 60;
  let storageKeyId = "";
  for (let i = 0; i < KEYS; i++) {
    const storage = await createStorageKey(base.admin, base.repoId, { name: `key ${i}` });
    storageKeyId ||= storage.id;
    await createAiKey(base.admin, base.repoId, { name: `ai ${i}` });
    // Verifications counted this minute (src/usage), which a key list reads for its usage24h.
    await env.DB.prepare(
      `INSERT INTO key_usage (scale, key_id, t, kind, code, transport, caller, repo_id, n)
       VALUES ('minute', ?1, ?2, 'storage', 'VALID', 'http', '', ?3, 5)`,
    )
      .bind(storage.id, minute, base.repoId)
      .run();
  }
  await seedEvents(
    Array.from({ length: EVENTS }, () =>
      auditEvent({ workspaceId: base.workspaceId, repoId: base.repoId }),
    ),
  );
  // A busier key: its last ten minutes counted too.
  for (let back = 1; back <= 10; back++) {
    await env.DB.prepare(
      `INSERT INTO key_usage (scale, key_id, t, kind, code, transport, caller, repo_id, n)
       VALUES ('minute', ?1, ?2, 'storage', 'VALID', 'http', '', ?3, 5)`,
    )
      .bind(storageKeyId, minute - back * 60, base.repoId)
      .run();
  }
  world = { ...base, reader, storageKeyId };
});

/** The rows one refused request read, and its answer. */
async function refusedCost(as: string, path: string): Promise<number> {
  const { db, rowsRead } = rowsReadDb();
  const response = await callWith({ DB: db }, "GET", path, { as });
  expectError(response, 403, "Insufficient permissions");
  return rowsRead();
}

const READS: [string, (id: string) => string, "repo" | "workspace"][] = [
  ["a repo's storage keys", (id) => `/repo/${id}/apikey`, "repo"],
  ["a repo's storage keys, paged", (id) => `/repo/${id}/apikey?limit=10`, "repo"],
  ["a repo's AI keys", (id) => `/repo/${id}/ai/apikey`, "repo"],
  ["a repo's AI keys, paged", (id) => `/repo/${id}/ai/apikey?limit=10`, "repo"],
  ["a repo's audit trail", (id) => `/repo/${id}/audit`, "repo"],
  ["a repo's usage", (id) => `/repo/${id}/usage`, "repo"],
  [
    "a key's usage",
    (id) => `/repo/${id}/apikey/${id === world.repoId ? world.storageKeyId : unknownId()}/usage`,
    "repo",
  ],
  ["a workspace's audit trail", (id) => `/workspace/${id}/audit`, "workspace"],
];

describe("a refused read of a resource that exists costs what one of a resource that does not", () => {
  for (const [what, path, scope] of READS) {
    it(`${what}: an outsider reads no row of it`, async () => {
      const outsider = newUser("outsider");
      const existing = scope === "repo" ? world.repoId : world.workspaceId;
      const there = await refusedCost(outsider, path(existing));
      const absent = await refusedCost(outsider, path(unknownId()));
      // What differs is the repo's own row, found before the member is missed: once by the
      // membership read, once by the rows' guard and, for a key list, once by its usage counts'
      // guard (src/usage/recent.ts). Not one key, event or usage count of it.
      expect(there).toBeLessThanOrEqual(absent + (path(existing).includes("apikey") ? 3 : 2));
    });
  }

  it("the audit trail of a repo: a READ member, refused, reads none of its events", async () => {
    const cost = await refusedCost(world.reader, `/repo/${world.repoId}/audit`);
    // The repo row twice and the member row twice (membership read, guard): none of the events.
    expect(cost).toBeLessThanOrEqual(4);
  });

  it("while an allowed caller reads the rows it is shown", async () => {
    const { db, rowsRead } = rowsReadDb();
    const response = await callWith({ DB: db }, "GET", `/repo/${world.repoId}/apikey`, {
      as: world.reader,
    });
    expect(response.status, response.text).toBe(200);
    expect(response.body.keys).toHaveLength(KEYS);
    expect(rowsRead()).toBeGreaterThanOrEqual(KEYS);
  });
});
