import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { newAiCredentials, newStorageCredentials } from "../../src/crypto/credentials";
import { forgetGithubKeys } from "../../src/leaks/github-keys";
import { call, expectError, team } from "../support/api";
import { auditEventsOf } from "../support/audit";
import { countingDb, createAiKey, createStorageKey, keyRow } from "../support/keys";
import { finding, githubKeyServer, postReport, sha256Hex } from "./support";

afterEach(() => {
  vi.restoreAllMocks();
  forgetGithubKeys();
});

/** A signed report of `findings` as GitHub sends it. */
async function report(github: Awaited<ReturnType<typeof githubKeyServer>>, findings: unknown) {
  const body = JSON.stringify(findings);
  return postReport({ SECRET_SCANNING_KEYS_URL: github.url }, body, await github.sign(body));
}

describe("POST /secret-scanning/github (GitHub's partner protocol)", () => {
  it("disables the storage and AI keys whose secrets were found, and answers true_positive for them", async () => {
    const github = await githubKeyServer();
    const { admin, repoId } = await team();
    const storage = await createStorageKey(admin, repoId);
    const ai = await createAiKey(admin, repoId);
    const stranger = newStorageCredentials().secret;

    const response = await report(github, [
      finding(storage.secret),
      finding(ai.secret, "https://gist.github.com/someone/1"),
      finding(stranger),
      finding("ghp_notoursatall0123456789"),
    ]);

    expect(response.status, response.text).toBe(200);
    expect(response.body).toEqual([
      {
        token_hash: await sha256Hex(storage.secret),
        token_type: "flashgate_storage_secret",
        label: "true_positive",
      },
      {
        token_hash: await sha256Hex(ai.secret),
        token_type: "flashgate_ai_secret",
        label: "true_positive",
      },
      {
        token_hash: await sha256Hex(stranger),
        token_type: "flashgate_storage_secret",
        label: "false_positive",
      },
      {
        token_hash: await sha256Hex("ghp_notoursatall0123456789"),
        token_type: "flashgate_storage_secret",
        label: "false_positive",
      },
    ]);
    expect(response.text).not.toContain(storage.secret);

    const storageList = await call("GET", `/repo/${repoId}/apikey`, { as: admin });
    expect(storageList.body.keys.find((k: { id: string }) => k.id === storage.id)).toMatchObject({
      status: "INACTIVE",
      disabledReason: "LEAKED",
      leakedAt: expect.any(String),
      leakSource: "content",
      leakUrl: "https://github.com/acme/site/blob/main/.env",
    });
    const aiList = await call("GET", `/repo/${repoId}/ai/apikey`, { as: admin });
    expect(aiList.body.apiKeys.find((k: { id: string }) => k.id === ai.id)).toMatchObject({
      status: "INACTIVE",
      disabledReason: "LEAKED",
      leakSource: "content",
      leakUrl: "https://gist.github.com/someone/1",
    });

    const [event] = await auditEventsOf(storage.id, "apikey.leaked");
    expect(event).toMatchObject({
      actor_id: "github-secret-scanning",
      repo_id: repoId,
      changes: {
        leakSource: { after: "content" },
        leakUrl: { after: "https://github.com/acme/site/blob/main/.env" },
        leakResponse: { after: "disable" },
        status: { after: "INACTIVE" },
      },
    });
    expect(JSON.stringify(event)).not.toContain(storage.secret);
    const [aiEvent] = await auditEventsOf(ai.id, "ai_apikey.leaked");
    expect(aiEvent?.changes).toMatchObject({
      leakUrl: { after: "https://gist.github.com/someone/1" },
    });
  });

  it("is idempotent: the same report again changes nothing and answers the same labels", async () => {
    const github = await githubKeyServer();
    const { admin, repoId } = await team();
    const key = await createStorageKey(admin, repoId);
    const first = await report(github, [finding(key.secret), finding(key.secret)]);
    expect(first.body.map((f: { label: string }) => f.label)).toEqual([
      "true_positive",
      "true_positive",
    ]);
    const row = await keyRow("storage_keys", key.id);
    await auditEventsOf(key.id, "apikey.leaked");

    const again = await report(github, [finding(key.secret, "https://github.com/other/place")]);
    expect(again.status).toBe(200);
    expect(again.body[0].label).toBe("true_positive");
    expect(await keyRow("storage_keys", key.id)).toEqual(row);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await auditEventsOf(key.id, "apikey.leaked")).toHaveLength(1);
  });

  it("answers false_positive for a near miss: a well-formed, checksummed secret no key has", async () => {
    const github = await githubKeyServer();
    const tokens = [newStorageCredentials().secret, newAiCredentials().secret];
    const response = await report(
      github,
      tokens.map((t) => finding(t)),
    );
    expect(response.body.map((f: { label: string }) => f.label)).toEqual([
      "false_positive",
      "false_positive",
    ]);
  });

  it("handles 1,000 findings in one request with two D1 round trips", async () => {
    const github = await githubKeyServer();
    const { admin, repoId } = await team();
    const storage = await Promise.all(
      Array.from({ length: 5 }, () => createStorageKey(admin, repoId)),
    );
    const ai = await Promise.all(Array.from({ length: 5 }, () => createAiKey(admin, repoId)));
    const real = [...storage, ...ai].map((k) => k.secret);
    const findings = Array.from({ length: 1000 }, (_, i) => {
      if (i < real.length) return finding(real[i] as string);
      if (i % 3 === 0) return finding(newStorageCredentials().secret);
      if (i % 3 === 1) return finding(newAiCredentials().secret);
      return finding(`AKIA${i}notours`);
    });
    const { db, roundTrips } = countingDb();
    const body = JSON.stringify(findings);
    const response = await postReport(
      { SECRET_SCANNING_KEYS_URL: github.url, DB: db },
      body,
      await github.sign(body),
    );
    expect(response.status, response.text).toBe(200);
    expect(response.body).toHaveLength(1000);
    const labels = response.body.map((f: { label: string }) => f.label);
    expect(labels.filter((l: string) => l === "true_positive")).toHaveLength(10);
    expect(labels.slice(0, 10).every((l: string) => l === "true_positive")).toBe(true);
    expect(roundTrips()).toBe(2);
    for (const key of storage) {
      expect(await keyRow("storage_keys", key.id)).toMatchObject({ disabled_reason: "LEAKED" });
    }
  });

  describe("refuses, writing nothing", () => {
    it("a report signed by a key GitHub does not publish, under its identifier: 401", async () => {
      const github = await githubKeyServer();
      const { admin, repoId } = await team();
      const key = await createStorageKey(admin, repoId);
      const body = JSON.stringify([finding(key.secret)]);
      const forged = await postReport(
        { SECRET_SCANNING_KEYS_URL: github.url },
        body,
        await github.sign(body, "github-key-1", await github.stranger()),
      );
      expectError(forged, 401, /signature does not verify/);
      expect(await keyRow("storage_keys", key.id)).toMatchObject({
        status: "ACTIVE",
        leaked_at: null,
      });
    });

    it("a tampered body, an unknown identifier, missing headers: 401", async () => {
      const github = await githubKeyServer();
      const { admin, repoId } = await team();
      const key = await createStorageKey(admin, repoId);
      const body = JSON.stringify([finding(key.secret)]);
      const headers = await github.sign(body);
      const overrides = { SECRET_SCANNING_KEYS_URL: github.url };
      const tampered = JSON.stringify([finding(key.secret, "https://github.com/x")]);
      expectError(await postReport(overrides, tampered, headers), 401);
      expectError(
        await postReport(overrides, body, { ...headers, "Github-Public-Key-Identifier": "nope" }),
        401,
      );
      expectError(await postReport(overrides, body, {}), 401, /headers are required/);
      expectError(
        await postReport(overrides, body, { ...headers, "Github-Public-Key-Signature": "%%%" }),
        401,
      );
      expect(await keyRow("storage_keys", key.id)).toMatchObject({
        status: "ACTIVE",
        leaked_at: null,
      });
    });

    it("bad JSON and a body that is not an array: 400; more findings than the limit: 413", async () => {
      const github = await githubKeyServer();
      const overrides = { SECRET_SCANNING_KEYS_URL: github.url };
      const notJson = "[{";
      expectError(
        await postReport(overrides, notJson, await github.sign(notJson)),
        400,
        /not valid JSON/,
      );
      const object = JSON.stringify({ token: "x" });
      const refused = await postReport(overrides, object, await github.sign(object));
      expectError(refused, 400);
      expect(refused.body.code).toBe("VALIDATION_FAILED");
      const many = JSON.stringify(Array.from({ length: 5001 }, () => ({ token: "x", type: "t" })));
      expectError(await postReport(overrides, many, await github.sign(many)), 413);
    });

    it("everything when SECRET_SCANNING_KEYS_URL is unset: 503, never an unsigned report", async () => {
      const { admin, repoId } = await team();
      const key = await createStorageKey(admin, repoId);
      const body = JSON.stringify([finding(key.secret)]);
      const response = await postReport({ SECRET_SCANNING_KEYS_URL: undefined }, body, {});
      expectError(response, 503, /not configured/);
      expect(await keyRow("storage_keys", key.id)).toMatchObject({ status: "ACTIVE" });
    });
  });

  describe("GitHub's public keys", () => {
    it("are fetched once and cached; a new identifier (rotation) makes one refresh", async () => {
      const github = await githubKeyServer();
      const empty = "[]";
      for (let i = 0; i < 3; i++) {
        expect(
          (
            await postReport(
              { SECRET_SCANNING_KEYS_URL: github.url },
              empty,
              await github.sign(empty),
            )
          ).status,
        ).toBe(200);
      }
      expect(github.server.fetches).toBe(1);
      await github.rotate("github-key-2");
      // A minute on: an unknown identifier may refresh the set (at most once a minute).
      vi.spyOn(Date, "now").mockReturnValue(Date.now() + 61_000);
      const rotated = await postReport(
        { SECRET_SCANNING_KEYS_URL: github.url },
        empty,
        await github.sign(empty, "github-key-2"),
      );
      expect(rotated.status, rotated.text).toBe(200);
      expect(github.server.fetches).toBe(2);
      // Unknown identifiers right after: no more fetches (rate-limited to one a minute).
      for (let i = 0; i < 5; i++) {
        const headers = await github.sign(empty);
        headers["Github-Public-Key-Identifier"] = `unknown-${i}`;
        expectError(
          await postReport({ SECRET_SCANNING_KEYS_URL: github.url }, empty, headers),
          401,
        );
      }
      expect(github.server.fetches).toBe(2);
    });

    it("when the endpoint is down after the hour, the last good set keeps verifying", async () => {
      const github = await githubKeyServer();
      const empty = "[]";
      const overrides = { SECRET_SCANNING_KEYS_URL: github.url };
      expect((await postReport(overrides, empty, await github.sign(empty))).status).toBe(200);
      github.server.up = false;
      vi.spyOn(Date, "now").mockReturnValue(Date.now() + 2 * 3_600_000);
      const response = await postReport(overrides, empty, await github.sign(empty));
      expect(response.status, response.text).toBe(200);
      expect(github.server.fetches).toBe(2);
    });

    it("with none fetched yet and the endpoint down: 503, nothing accepted", async () => {
      const github = await githubKeyServer();
      github.server.up = false;
      const empty = "[]";
      const response = await postReport(
        { SECRET_SCANNING_KEYS_URL: github.url },
        empty,
        await github.sign(empty),
      );
      expectError(response, 503, /could not be fetched/);
    });
  });
});

describe("the storage key table", () => {
  it("has each new key's keyed digest", async () => {
    const { admin, repoId } = await team();
    const key = await createStorageKey(admin, repoId);
    const row = await keyRow("storage_keys", key.id);
    expect(row?.secret_digest).toMatch(/^t2\.[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(row)).not.toContain(key.secret);
    expect(env.DB).toBeDefined();
  });
});
