import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { Bindings } from "../../src/env";
import { verifyS3Request } from "../../src/verify/s3";
import type { VerifyS3Request } from "../../src/verify/schemas";
import { call, team } from "../support/api";
import { TEST_BINDINGS } from "../support/bindings";
import { createStorageKey } from "../support/keys";
import { keyVerifier, signedS3Request, verifyS3Http } from "../verify/support";
import { issueCredentials, signedWithToken, type TemporaryCredentials } from "./support";

let t: Awaited<ReturnType<typeof team>>;
let writeKey: { id: string; key: string; secret: string };

/** Every failure counted, none ever blocked; no key memory, so each write shows at once. */
const quietEnv = {
  ...(env as Bindings),
  VERIFY_CACHE_TTL_SECONDS: "0",
  VERIFY_FAILURES: { limit: async () => ({ success: true }) },
} as Bindings;

const verifyAt = (input: VerifyS3Request, now = Date.now(), bindings = quietEnv) =>
  verifyS3Request(bindings, input, () => {}, now);

beforeAll(async () => {
  t = await team();
  writeKey = await createStorageKey(t.admin, t.repoId, { accessType: "WRITE" });
});

const objectPath = (key = "builds/1/a.txt") => `/${t.repoId}/${key}`;

describe("a request signed with temporary credentials", () => {
  let issued: TemporaryCredentials;
  beforeAll(async () => {
    issued = await issueCredentials(t.admin, t.repoId, writeKey.id, {
      permission: "WRITE",
      prefixes: ["builds/1/"],
      objects: ["notes.txt"],
    });
  });

  it("is VALID over HTTP and RPC, with the parent's id and repo, the permission and the scope", async () => {
    const input = await signedWithToken(issued, { method: "PUT", path: objectPath() });
    expect(input.headers["x-amz-security-token"]).toBe(issued.sessionToken);
    const expected = {
      success: true,
      valid: true,
      code: "VALID",
      keyId: writeKey.id,
      key: issued.accessKeyId,
      repoId: t.repoId,
      workspaceId: t.workspaceId,
      accessType: "WRITE",
      scope: {
        permission: "WRITE",
        prefixes: ["builds/1/"],
        objects: ["notes.txt"],
        expiration: issued.expiration,
        parentKeyId: writeKey.id,
      },
    };
    const http = await verifyS3Http({ ...input, requiredAccess: "WRITE" });
    expect(http.status).toBe(200);
    expect(http.body).toMatchObject(expected);
    expect(http.text).not.toContain(issued.secretAccessKey);
    expect(await keyVerifier.verifyS3Request({ ...input, requiredAccess: "WRITE" })).toMatchObject(
      expected,
    );
  });

  it("is VALID presigned, the token in the signed query", async () => {
    const input = await signedWithToken(issued, { path: objectPath(), presign: true });
    expect(new URL(input.url).searchParams.get("X-Amz-Security-Token")).toBe(issued.sessionToken);
    expect(await verifyAt(input)).toMatchObject({
      code: "VALID",
      scope: { prefixes: ["builds/1/"] },
    });
  });

  it("is refused when the token header is not signed (HEADERS_NOT_SIGNED)", async () => {
    const input = await signedWithToken(issued, { path: objectPath() });
    const authorization = input.headers.authorization as string;
    input.headers.authorization = authorization.replace(";x-amz-security-token", "");
    expect(await verifyAt(input)).toMatchObject({ code: "HEADERS_NOT_SIGNED" });
  });

  it("is INVALID_TOKEN without its token, and a key's own request with a token is too", async () => {
    const input = await signedWithToken(issued, { path: objectPath() });
    // Signed again without the token: the signature is right, the token is missing.
    const bare = await signedS3Request(
      { key: issued.accessKeyId, secret: issued.secretAccessKey },
      { path: objectPath() },
    );
    expect(await verifyAt(bare)).toMatchObject({ code: "INVALID_TOKEN", s3Error: "InvalidToken" });
    const keysOwn = await signedWithToken(
      {
        accessKeyId: writeKey.key,
        secretAccessKey: writeKey.secret,
        sessionToken: issued.sessionToken,
      },
      { path: objectPath() },
    );
    expect(await verifyAt(keysOwn)).toMatchObject({ code: "INVALID_TOKEN" });
    expect(await verifyAt(input)).toMatchObject({ code: "VALID" });
  });

  it("is INVALID_TOKEN with any one byte of the token flipped, however it is signed", async () => {
    const token = issued.sessionToken;
    const answers = new Set<string>();
    for (let i = 0; i < token.length; i++) {
      const flipped =
        token.slice(0, i) + String.fromCharCode(token.charCodeAt(i) ^ 1) + token.slice(i + 1);
      const input = await signedWithToken(issued, { path: objectPath(), sessionToken: flipped });
      const answer = await verifyAt(input);
      answers.add(answer.code === "INVALID_TOKEN" ? answer.code : `${i}: ${answer.code}`);
    }
    expect([...answers]).toEqual(["INVALID_TOKEN"]);
  });

  it("is INVALID_TOKEN with another credential's token, another repo's included", async () => {
    const sibling = await issueCredentials(t.admin, t.repoId, writeKey.id, { permission: "WRITE" });
    const other = await team();
    const othersKey = await createStorageKey(other.admin, other.repoId, { accessType: "WRITE" });
    const othersCredential = await issueCredentials(other.admin, other.repoId, othersKey.id, {
      permission: "WRITE",
    });
    for (const token of [sibling.sessionToken, othersCredential.sessionToken]) {
      const input = await signedWithToken(issued, { path: objectPath(), sessionToken: token });
      expect(await verifyAt(input)).toMatchObject({ code: "INVALID_TOKEN" });
    }
    // Another repo's credential, used as issued, answers for its own repo only.
    const own = await signedWithToken(othersCredential, { path: objectPath() });
    expect(await verifyAt(own)).toMatchObject({ code: "VALID", repoId: other.repoId });
  });

  it("is SIGNATURE_MISMATCH signed with the parent's secret or another credential's", async () => {
    const sibling = await issueCredentials(t.admin, t.repoId, writeKey.id, { permission: "WRITE" });
    for (const secretAccessKey of [writeKey.secret, sibling.secretAccessKey]) {
      const input = await signedWithToken({ ...issued, secretAccessKey }, { path: objectPath() });
      expect(await verifyAt(input)).toMatchObject({ code: "SIGNATURE_MISMATCH" });
    }
  });
});

describe("a temporary credential's lifetime", () => {
  it("works until its expiration, to the second, then is TOKEN_EXPIRED (ExpiredToken)", async () => {
    const issued = await issueCredentials(t.admin, t.repoId, writeKey.id, {
      permission: "READ",
      ttlSeconds: 60,
    });
    const expiresAt = Date.parse(issued.expiration);
    const signedAt = (at: number) =>
      signedWithToken(issued, { path: objectPath(), signingDate: new Date(at) });
    expect(await verifyAt(await signedAt(expiresAt - 1000), expiresAt - 1)).toMatchObject({
      code: "VALID",
    });
    expect(await verifyAt(await signedAt(expiresAt - 1000), expiresAt)).toMatchObject({
      code: "TOKEN_EXPIRED",
      s3Error: "ExpiredToken",
    });
  });

  it("needs a READ credential to stay within READ (INSUFFICIENT_ACCESS for a write)", async () => {
    const issued = await issueCredentials(t.admin, t.repoId, writeKey.id, { permission: "READ" });
    const input = await signedWithToken(issued, { method: "PUT", path: objectPath() });
    expect(await verifyAt({ ...input, requiredAccess: "WRITE" })).toMatchObject({
      code: "INSUFFICIENT_ACCESS",
    });
  });

  it("ends when its parent is deleted, disabled or expires", async () => {
    const cases: [string, (keyId: string) => Promise<unknown>, string][] = [
      [
        "deleted",
        (id) => call("DELETE", `/repo/${t.repoId}/apikey/${id}`, { as: t.admin }),
        "REVOKED",
      ],
      [
        "disabled",
        (id) =>
          call("PUT", `/repo/${t.repoId}/apikey/${id}`, {
            as: t.admin,
            body: { status: "INACTIVE" },
          }),
        "DISABLED",
      ],
      [
        "expired",
        (id) =>
          env.DB.prepare("UPDATE storage_keys SET expires_at = ? WHERE id = ?")
            .bind(new Date(Date.now() - 1000).toISOString(), id)
            .run(),
        "EXPIRED",
      ],
    ];
    for (const [what, change, code] of cases) {
      const parent = await createStorageKey(t.admin, t.repoId, { accessType: "WRITE" });
      const issued = await issueCredentials(t.admin, t.repoId, parent.id, { permission: "READ" });
      const input = await signedWithToken(issued, { path: objectPath() });
      expect((await verifyAt(input)).code, what).toBe("VALID");
      await change(parent.id);
      expect(await verifyAt(input), what).toMatchObject({ code, valid: false });
    }
  });

  it("ends when its parent is rolled: at once without grace, when the grace ends with one", async () => {
    const parent = await createStorageKey(t.admin, t.repoId, { accessType: "WRITE" });
    const before = await issueCredentials(t.admin, t.repoId, parent.id, { permission: "READ" });
    const roll = (gracePeriodSeconds: number) =>
      call("POST", `/repo/${t.repoId}/apikey/${parent.id}/roll`, {
        as: t.admin,
        body: { gracePeriodSeconds },
      });
    expect((await roll(120)).status).toBe(200);
    const input = await signedWithToken(before, { path: objectPath() });
    expect(await verifyAt(input)).toMatchObject({ code: "VALID" });
    // Past the grace period: signed then, verified then.
    const later = Date.now() + 180_000;
    const late = await signedWithToken(before, {
      path: objectPath(),
      signingDate: new Date(later),
    });
    expect(await verifyAt(late, later)).toMatchObject({ code: "INVALID_TOKEN" });

    // Issued after the roll: under the new secret, it works; a roll without grace ends it.
    const after = await issueCredentials(t.admin, t.repoId, parent.id, { permission: "READ" });
    const afterInput = await signedWithToken(after, { path: objectPath() });
    expect(await verifyAt(afterInput)).toMatchObject({ code: "VALID" });
    expect((await roll(0)).status).toBe(200);
    expect(await verifyAt(afterInput)).toMatchObject({
      code: "INVALID_TOKEN",
      message: "The credential's parent key was rolled since it was issued",
    });
  });

  it("opens under a retired keyring version while it stays in ENCRYPTION_KEYS, not after", async () => {
    const issued = await issueCredentials(t.admin, t.repoId, writeKey.id, { permission: "READ" });
    const input = await signedWithToken(issued, { path: objectPath() });
    const [sealing, retired] = TEST_BINDINGS.ENCRYPTION_KEYS.split(",") as [string, string];
    // A new version put first: t2 (which sealed the token) only opens now.
    const rotated = `t3:${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))},${sealing},${retired}`;
    expect(
      await verifyAt(input, Date.now(), { ...quietEnv, ENCRYPTION_KEYS: rotated }),
    ).toMatchObject({ code: "VALID" });
    // t2 removed: no token it sealed opens.
    const removed = `t3:${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))},${retired}`;
    expect(
      await verifyAt(input, Date.now(), { ...quietEnv, ENCRYPTION_KEYS: removed }),
    ).toMatchObject({ code: "INVALID_TOKEN" });
  });
});
