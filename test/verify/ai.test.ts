import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { newAiCredentials } from "../../src/crypto/credentials";
import type { Bindings } from "../../src/env";
import { resealSecrets } from "../../src/keys/reseal";
import { verifyAiSecret } from "../../src/verify/ai";
import { call, team } from "../support/api";
import { countingDb, createAiKey } from "../support/keys";
import { keyVerifier, verifyAiHttp } from "./support";

let admin: string;
let repoId: string;
let workspaceId: string;

beforeAll(async () => {
  ({ admin, repoId, workspaceId } = await team());
});

const ignoreWaitUntil = () => {};

async function verify(input: unknown) {
  const response = await verifyAiHttp(input);
  expect(response.status, response.text).toBe(200);
  return response.body;
}

/** A well-formed secret nobody issued: the checksum is public, so anyone can forge one. */
function unissuedSecret(): string {
  return newAiCredentials().secret;
}

describe("an AI secret", () => {
  it("is VALID with its key, repo, workspace and AI type, and no secret in the answer", async () => {
    const key = await createAiKey(admin, repoId, { aiType: "ANTHROPIC" });
    const answer = await verify({ secret: key.secret });
    expect(answer).toEqual({
      success: true,
      valid: true,
      code: "VALID",
      keyId: key.id,
      key: key.key,
      repoId,
      workspaceId,
      aiType: "ANTHROPIC",
    });
    expect(JSON.stringify(answer)).not.toContain(key.secret);
    expect((await verify({ secret: `Bearer ${key.secret}` })).code).toBe("VALID");
  });

  it("answers the same through the KeyVerifier service binding (RPC), with the AI gateway's aiCall", async () => {
    const key = await createAiKey(admin, repoId);
    const { aiCall, ...answer } = (await keyVerifier.verifyAiSecret({
      secret: key.secret,
    })) as Record<string, unknown>;
    expect(answer).toEqual(await verify({ secret: key.secret }));
    expect(typeof (aiCall as { forward?: unknown }).forward).toBe("function");
  });

  it("is INVALID when mistyped, and that is answered without touching D1", async () => {
    const key = await createAiKey(admin, repoId);
    const last = key.secret.at(-8) === "a" ? "b" : "a";
    const mistyped = `${key.secret.slice(0, -8)}${last}${key.secret.slice(-7)}`;
    const { db, roundTrips } = countingDb();
    const counted = { ...(env as Bindings), DB: db };
    for (const secret of [mistyped, "sk-openai-style", "fbai_sk_short", `${key.secret}x`]) {
      expect(await verifyAiSecret(counted, { secret }, ignoreWaitUntil)).toMatchObject({
        success: true,
        valid: false,
        code: "INVALID",
      });
    }
    expect(roundTrips()).toBe(0);
  });

  it("is INVALID when forged with a correct checksum (one indexed read, then remembered)", async () => {
    const forged = unissuedSecret();
    const { db, roundTrips } = countingDb();
    const counted = { ...(env as Bindings), DB: db };
    expect((await verifyAiSecret(counted, { secret: forged }, ignoreWaitUntil)).code).toBe(
      "INVALID",
    );
    expect((await verifyAiSecret(counted, { secret: forged }, ignoreWaitUntil)).code).toBe(
      "INVALID",
    );
    expect(roundTrips()).toBe(1);
    expect((await verify({ secret: forged })).code).toBe("INVALID");
  });

  it("is REVOKED once deleted, at once in the isolate that deleted it", async () => {
    const key = await createAiKey(admin, repoId);
    expect((await verify({ secret: key.secret })).code).toBe("VALID");
    const deleted = await call("DELETE", `/repo/${repoId}/ai/apikey/${key.id}`, { as: admin });
    expect(deleted.status).toBe(200);
    expect(await verify({ secret: key.secret })).toMatchObject({ valid: false, code: "REVOKED" });
  });

  it("is found with one D1 read, then from memory", async () => {
    const key = await createAiKey(admin, repoId);
    const { db, roundTrips } = countingDb();
    const counted = { ...(env as Bindings), DB: db };
    expect((await verifyAiSecret(counted, { secret: key.secret }, ignoreWaitUntil)).code).toBe(
      "VALID",
    );
    expect((await verifyAiSecret(counted, { secret: key.secret }, ignoreWaitUntil)).code).toBe(
      "VALID",
    );
    expect(roundTrips()).toBe(1);
  });

  it("is stored only as a keyed digest; rows made before digests get one from the sweep", async () => {
    const key = await createAiKey(admin, repoId);
    const row = await env.DB.prepare("SELECT secret_digest AS d FROM ai_keys WHERE id = ?")
      .bind(key.id)
      .first<{ d: string }>();
    expect(row?.d).toMatch(/^t2\.[A-Za-z0-9_-]{43}$/);
    expect(row?.d).not.toContain(key.secret);

    // A key from before this release: no digest, so verification cannot find it yet.
    await env.DB.prepare("UPDATE ai_keys SET secret_digest = NULL WHERE id = ?").bind(key.id).run();
    const uncached = { ...(env as Bindings), VERIFY_CACHE_TTL_SECONDS: "0" };
    expect((await verifyAiSecret(uncached, { secret: key.secret }, ignoreWaitUntil)).code).toBe(
      "INVALID",
    );
    const report = await resealSecrets(env as Bindings);
    expect(report.resealed).toBeGreaterThanOrEqual(1);
    expect((await verifyAiSecret(uncached, { secret: key.secret }, ignoreWaitUntil)).code).toBe(
      "VALID",
    );
  });

  it("is still found after a key rotation, before and after the sweep moves its digest", async () => {
    const key = await createAiKey(admin, repoId);
    // A new key first in the ring: the row's digest is under the old "t2" until the sweep.
    const rotated = {
      ...(env as Bindings),
      VERIFY_CACHE_TTL_SECONDS: "0",
      ENCRYPTION_KEYS: `t3:${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))},${(env as Bindings).ENCRYPTION_KEYS}`,
    };
    expect((await verifyAiSecret(rotated, { secret: key.secret }, ignoreWaitUntil)).code).toBe(
      "VALID",
    );
    await resealSecrets(rotated, { pageSize: 1000, maxPages: 10 });
    const row = await env.DB.prepare("SELECT secret_digest AS d FROM ai_keys WHERE id = ?")
      .bind(key.id)
      .first<{ d: string }>();
    expect(row?.d).toMatch(/^t3\./);
    expect((await verifyAiSecret(rotated, { secret: key.secret }, ignoreWaitUntil)).code).toBe(
      "VALID",
    );
  });
});
