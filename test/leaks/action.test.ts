import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Bindings } from "../../src/env";
import { resealSecrets } from "../../src/keys/reseal";
import { forgetGithubKeys } from "../../src/leaks/github-keys";
import { verifyAiSecret } from "../../src/verify/ai";
import { call, expectError, team } from "../support/api";
import { auditEventsOf } from "../support/audit";
import { TEST_BINDINGS } from "../support/bindings";
import { createAiKey, createStorageKey, keyRow } from "../support/keys";
import { finding, githubKeyServer, postReport } from "./support";

afterEach(() => {
  vi.restoreAllMocks();
  forgetGithubKeys();
});

async function reportFound(tokens: string[]) {
  const github = await githubKeyServer();
  const body = JSON.stringify(tokens.map((token) => finding(token)));
  const response = await postReport(
    { SECRET_SCANNING_KEYS_URL: github.url },
    body,
    await github.sign(body),
  );
  expect(response.status, response.text).toBe(200);
  return response.body as { label: string }[];
}

const ignoreWaitUntil = () => {};
const verifyAi = (secret: string) =>
  verifyAiSecret(env as unknown as Bindings, { secret }, ignoreWaitUntil);

describe("a leaked key", () => {
  it("is refused at /verify/ai at once in this isolate, though it was remembered as valid", async () => {
    const { admin, repoId } = await team();
    const key = await createAiKey(admin, repoId);
    expect(await verifyAi(key.secret)).toMatchObject({ valid: true });
    await reportFound([key.secret]);
    expect(await verifyAi(key.secret)).toMatchObject({ valid: false, code: "DISABLED" });
  });

  it("cannot be enabled again until it is rolled (409), then can; rolling ends the leaked secret at once", async () => {
    const { admin, repoId } = await team();
    const storage = await createStorageKey(admin, repoId);
    const ai = await createAiKey(admin, repoId);
    await reportFound([storage.secret, ai.secret]);

    const storagePath = `/repo/${repoId}/apikey/${storage.id}`;
    const aiPath = `/repo/${repoId}/ai/apikey/${ai.id}`;
    for (const path of [storagePath, aiPath]) {
      const refused = await call("PUT", path, { as: admin, body: { status: "ACTIVE" } });
      expectError(refused, 409, /found in public: roll it/);
      // Renaming is still fine.
      const renamed = await call("PUT", path, { as: admin, body: { name: "leaked once" } });
      expect(renamed.status, renamed.text).toBe(200);
      // A grace period would keep the public secret working.
      const graced = await call("POST", `${path}/roll`, {
        as: admin,
        body: { gracePeriodSeconds: 60 },
      });
      expectError(graced, 409, /without a grace period/);
      const rolled = await call("POST", `${path}/roll`, { as: admin });
      expect(rolled.status, rolled.text).toBe(200);
      expect(rolled.body.previousSecretExpiresAt).toBeNull();
      const enabled = await call("PUT", path, { as: admin, body: { status: "ACTIVE" } });
      expect(enabled.status, enabled.text).toBe(200);
    }
    expect(await keyRow("storage_keys", storage.id)).toMatchObject({
      status: "ACTIVE",
      disabled_reason: null,
      leak_source: "content",
    });
    expect(await verifyAi(ai.secret)).toMatchObject({ valid: false, code: "INVALID" });
    // The old secret reported again is still ours (true_positive) and changes nothing.
    const row = await keyRow("storage_keys", storage.id);
    expect((await reportFound([storage.secret])).map((f) => f.label)).toEqual(["true_positive"]);
    expect(await keyRow("storage_keys", storage.id)).toEqual(row);
  });
});

describe("the workspace's leak response", () => {
  it("is disable by default; ADMINs may set revoke or notify; others may only read it", async () => {
    const { admin, writer, outsider, workspaceId } = await team();
    const path = `/workspace/${workspaceId}/leak-response`;
    const read = await call("GET", path, { as: writer });
    expect(read.body).toEqual({ success: true, leakResponse: "disable" });
    expectError(await call("PUT", path, { as: writer, body: { leakResponse: "notify" } }), 403);
    expectError(await call("GET", path, { as: outsider }), 403);
    expectError(await call("PUT", path, { as: admin, body: { leakResponse: "ignore" } }), 400);
    const set = await call("PUT", path, { as: admin, body: { leakResponse: "revoke" } });
    expect(set.body).toEqual({ success: true, leakResponse: "revoke" });
    const [event] = await auditEventsOf(workspaceId, "workspace.leak_response_updated");
    expect(event?.changes).toEqual({ leakResponse: { before: "disable", after: "revoke" } });
  });

  it("revoke deletes the key (kept for audit); notify only records where it was found", async () => {
    const revoking = await team();
    await call("PUT", `/workspace/${revoking.workspaceId}/leak-response`, {
      as: revoking.admin,
      body: { leakResponse: "revoke" },
    });
    const revoked = await createStorageKey(revoking.admin, revoking.repoId);
    const notifying = await team();
    await call("PUT", `/workspace/${notifying.workspaceId}/leak-response`, {
      as: notifying.admin,
      body: { leakResponse: "notify" },
    });
    const noted = await createAiKey(notifying.admin, notifying.repoId);

    expect((await reportFound([revoked.secret, noted.secret])).map((f) => f.label)).toEqual([
      "true_positive",
      "true_positive",
    ]);
    expect(await keyRow("storage_keys", revoked.id)).toMatchObject({
      deleted_at: expect.any(String),
      deleted_by: "github-secret-scanning",
      disabled_reason: "LEAKED",
    });
    const listed = await call("GET", `/repo/${notifying.repoId}/ai/apikey`, {
      as: notifying.admin,
    });
    expect(listed.body.apiKeys[0]).toMatchObject({
      status: "ACTIVE",
      disabledReason: null,
      leakedAt: expect.any(String),
      leakSource: "content",
    });
    expect(await verifyAi(noted.secret)).toMatchObject({ valid: true });
    const [event] = await auditEventsOf(noted.id, "ai_apikey.leaked");
    expect(event?.changes).toEqual({
      leakSource: { after: "content" },
      leakUrl: { after: "https://github.com/acme/site/blob/main/.env" },
      leakResponse: { after: "notify" },
    });
  });
});

describe("storage secrets' keyed digests", () => {
  it("are backfilled by the re-seal sweep for keys made before them, and then find the key", async () => {
    const { admin, repoId } = await team();
    const key = await createStorageKey(admin, repoId);
    await env.DB.prepare("UPDATE storage_keys SET secret_digest = NULL WHERE id = ?")
      .bind(key.id)
      .run();
    expect(await reportFound([key.secret])).toEqual([
      expect.objectContaining({ label: "false_positive" }),
    ]);
    const sealing = TEST_BINDINGS.ENCRYPTION_KEYS.split(",")[0] as string;
    await resealSecrets({ ...env, ENCRYPTION_KEYS: sealing } as Bindings);
    expect((await keyRow("storage_keys", key.id))?.secret_digest).toMatch(/^t2\./);
    expect(await reportFound([key.secret])).toEqual([
      expect.objectContaining({ label: "true_positive" }),
    ]);
  });
});
