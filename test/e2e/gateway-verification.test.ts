import { execFile } from "node:child_process";
import { createHash, randomInt } from "node:crypto";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { beforeAll, describe, expect, it } from "vitest";
import { baseUrl, callApi, curl, newUser, tokenFor } from "./support/http";
import { capturingS3Client, S3_ENDPOINT } from "./support/s3-signing";

/**
 * A gateway's journey over real HTTP against `npm run dev`: requests signed by AWS SDK v3's own
 * S3Client and presigner (nobody here wrote them), checked through POST /verify/s3, and AI
 * secrets through POST /verify/ai, with a gateway token from the README's own CLI.
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const exec = promisify(execFile);

interface Key {
  id: string;
  key: string;
  secret: string;
}

let userToken: string;
let gatewayToken: string;
let workspaceId: string;
let repoId: string;
let repoCreatedAt: string;
let reader: Key;
let writer: Key;
let aiKey: Key;
/** Every secret this file has seen: none may ever appear in a verification answer. */
const secrets = new Set<string>();

const api = (method: string, path: string, body?: unknown) =>
  callApi(userToken, method, path, body);

async function newStorageKey(name: string, accessType: "READ" | "WRITE"): Promise<Key> {
  const created = await api("POST", `/repo/${repoId}/apikey`, { name, accessType });
  secrets.add(created.secret);
  return created;
}

async function newAiKey(name: string): Promise<Key> {
  const created = await api("POST", `/repo/${repoId}/ai/apikey`, { name, aiType: "ANTHROPIC" });
  secrets.add(created.secret);
  return created;
}

/** POST /verify/{kind} with the gateway's token: always a 200 JSON decision, never a secret. */
async function verify(kind: "s3" | "ai", body: unknown) {
  const response = await fetch(`${baseUrl}/verify/${kind}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${gatewayToken}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  expect(response.headers.get("content-type")).toContain("application/json");
  for (const secret of secrets) expect(text).not.toContain(secret);
  const answer = JSON.parse(text);
  expect(answer.success).toBe(true);
  return answer;
}

const credentialsOf = (key: Key) => ({ accessKeyId: key.key, secretAccessKey: key.secret });
const valid = (key: Key, accessType: string) => ({
  success: true,
  valid: true,
  code: "VALID",
  keyId: key.id,
  key: key.key,
  repoId,
  workspaceId,
  accessType,
  repoCreatedAt,
  // What the signature covers, for the gateway to hold the body to.
  payloadHash: expect.stringMatching(/^([0-9a-f]{64}|UNSIGNED-PAYLOAD)$/),
  signedHeaders: expect.arrayContaining(["host"]),
  checksums: expect.any(Object),
});
const refused = (code: string, s3Error: string) => ({
  success: true,
  valid: false,
  code,
  s3Error,
  message: expect.any(String),
});

/** The README's delete, as pasted: `curl -s -X DELETE "$API/…" -H "Authorization: Bearer …"`. */
async function curlDelete(path: string) {
  const response = await curl(path, ["-X", "DELETE", "-H", `Authorization: Bearer ${userToken}`]);
  expect(response.status, response.text).toBe(200);
  return response.body;
}

beforeAll(async () => {
  userToken = await tokenFor(newUser("gateway-owner"));
  // The README's gateway token command, run as a person would run it.
  const { stdout } = await exec(
    "npm",
    ["run", "--silent", "token", "--", "--scope", "keys:verify", "e2e-gateway"],
    { cwd: ROOT },
  );
  gatewayToken = stdout.trim();
  const [, payload = ""] = gatewayToken.split(".");
  expect(JSON.parse(Buffer.from(payload, "base64url").toString())).toMatchObject({
    sub: "e2e-gateway",
    scope: "keys:verify",
  });

  workspaceId = (await api("POST", "/workspace", { name: "Gateway team" })).id;
  repoId = (await api("POST", "/repo", { name: "bucket", workspaceId })).id;
  repoCreatedAt = (await api("GET", `/repo/${repoId}`)).repo.createdAt;
  reader = await newStorageKey("Reader", "READ");
  writer = await newStorageKey("Writer", "WRITE");
  aiKey = await newAiKey("Claude gateway");
});

describe("a storage gateway checks what AWS SDK v3's S3Client signed", () => {
  it("GetObject signed with a READ key is VALID, with the key's ids and READ", async () => {
    const s3 = capturingS3Client(credentialsOf(reader));
    const request = await s3.signed(
      new GetObjectCommand({ Bucket: repoId, Key: "photos/cat café+1.jpg" }),
    );
    // What the SDK really put on the wire: its encoded key, its query, its signed headers.
    expect(request.url).toBe(
      `${S3_ENDPOINT}/${repoId}/photos/cat%20caf%C3%A9%2B1.jpg?x-id=GetObject`,
    );
    expect(request.headers.authorization).toMatch(
      new RegExp(`^AWS4-HMAC-SHA256 Credential=${reader.key}/\\d{8}/auto/s3/aws4_request, `),
    );
    const answer = await verify("s3", { ...request, clientIp: "203.0.113.7" });
    expect(answer).toEqual(valid(reader, "READ"));
  });

  it("PutObject of a string body (hex SHA-256 and CRC32 signed) is VALID for a WRITE key where WRITE is required", async () => {
    const s3 = capturingS3Client(credentialsOf(writer));
    const body = "hello, gateway";
    const request = await s3.signed(
      new PutObjectCommand({ Bucket: repoId, Key: "notes/hello.txt", Body: body }),
    );
    expect(request.method).toBe("PUT");
    expect(request.headers["x-amz-content-sha256"]).toBe(
      createHash("sha256").update(body).digest("hex"),
    );
    expect(request.headers["x-amz-checksum-crc32"]).toEqual(expect.any(String));
    expect(request.headers.authorization).toContain("x-amz-checksum-crc32");
    const answer = await verify("s3", { ...request, requiredAccess: "WRITE" });
    expect(answer).toEqual(valid(writer, "WRITE"));
    expect(answer.payloadHash).toBe(request.headers["x-amz-content-sha256"]);
    expect(answer.checksums).toEqual({
      "x-amz-checksum-crc32": request.headers["x-amz-checksum-crc32"],
    });
    expect(answer.signedHeaders).toContain("x-amz-checksum-crc32");
  });

  it("the same PutObject signed with a READ key is AccessDenied where WRITE is required", async () => {
    const s3 = capturingS3Client(credentialsOf(reader));
    const request = await s3.signed(
      new PutObjectCommand({ Bucket: repoId, Key: "notes/hello.txt", Body: "hello, gateway" }),
    );
    // A read-only key may still read: the signature is good, the access is not enough.
    expect((await verify("s3", request)).code).toBe("VALID");
    expect(await verify("s3", { ...request, requiredAccess: "WRITE" })).toEqual(
      refused("INSUFFICIENT_ACCESS", "AccessDenied"),
    );
  });

  it("ListObjectsV2 with a prefix holding a space and a slash is VALID", async () => {
    const s3 = capturingS3Client(credentialsOf(reader));
    const request = await s3.signed(
      new ListObjectsV2Command({ Bucket: repoId, Prefix: "photos/summer 2026/" }),
    );
    expect(request.url).toBe(
      `${S3_ENDPOINT}/${repoId}/?list-type=2&prefix=photos%2Fsummer%202026%2F`,
    );
    expect(await verify("s3", request)).toEqual(valid(reader, "READ"));
  });
});

describe("a storage gateway checks presigned URLs from @aws-sdk/s3-request-presigner", () => {
  const presign = (key: Key, objectKey: string, options: Parameters<typeof getSignedUrl>[2]) =>
    getSignedUrl(
      capturingS3Client(credentialsOf(key)).client,
      new GetObjectCommand({ Bucket: repoId, Key: objectKey }),
      options,
    );
  const asGot = (url: string) => ({ method: "GET", url, headers: { host: new URL(url).host } });

  it("a URL valid for 5 minutes is VALID; with one character of its object key changed, SignatureDoesNotMatch", async () => {
    const url = await presign(reader, "photos/cat.jpg", { expiresIn: 300 });
    expect(url).toMatch(/[?&]X-Amz-Expires=300(&|$)/);
    expect(await verify("s3", asGot(url))).toEqual(valid(reader, "READ"));

    const tampered = url.replace("/photos/cat.jpg?", "/photos/cau.jpg?");
    expect(tampered).not.toBe(url);
    expect(await verify("s3", asGot(tampered))).toEqual(
      refused("SIGNATURE_MISMATCH", "SignatureDoesNotMatch"),
    );
  });

  it("a URL signed an hour ago to live 60 seconds is expired: AccessDenied", async () => {
    const url = await presign(reader, "photos/cat.jpg", {
      expiresIn: 60,
      signingDate: new Date(Date.now() - 60 * 60 * 1000),
    });
    expect(await verify("s3", asGot(url))).toEqual(refused("REQUEST_EXPIRED", "AccessDenied"));
  });
});

describe("a storage gateway refuses what the key's holder did not sign", () => {
  const get = new GetObjectCommand({ Bucket: "any", Key: "photos/cat.jpg" });

  it("signed with the wrong secret: SignatureDoesNotMatch", async () => {
    const wrong = `${reader.secret.slice(0, -1)}${reader.secret.endsWith("A") ? "B" : "A"}`;
    const s3 = capturingS3Client({ accessKeyId: reader.key, secretAccessKey: wrong });
    expect(await verify("s3", await s3.signed(get))).toEqual(
      refused("SIGNATURE_MISMATCH", "SignatureDoesNotMatch"),
    );
  });

  it("an access key id nobody issued: InvalidAccessKeyId", async () => {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    const unknown = `FBAK${Array.from({ length: 16 }, () => alphabet[randomInt(36)]).join("")}`;
    const s3 = capturingS3Client({ accessKeyId: unknown, secretAccessKey: reader.secret });
    expect(await verify("s3", await s3.signed(get))).toEqual(
      refused("INVALID_ACCESS_KEY", "InvalidAccessKeyId"),
    );
  });

  it("signed by a client whose clock is 20 minutes slow: RequestTimeTooSkewed", async () => {
    const s3 = capturingS3Client(credentialsOf(reader), { systemClockOffset: -20 * 60 * 1000 });
    const request = await s3.signed(get);
    const [, y, mo, d, h, mi, s] = (/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(
      request.headers["x-amz-date"] ?? "",
    ) ?? []) as string[];
    const signedAt = Date.UTC(
      Number(y),
      Number(mo) - 1,
      Number(d),
      Number(h),
      Number(mi),
      Number(s),
    );
    expect(Date.now() - signedAt).toBeGreaterThan(19 * 60 * 1000);
    expect(await verify("s3", request)).toEqual(
      refused("REQUEST_TIME_SKEWED", "RequestTimeTooSkewed"),
    );
  });
});

describe("a deleted key stops verifying at once", () => {
  it("a storage key deleted with the README's curl is REVOKED on the next verification", async () => {
    const doomed = await newStorageKey("Doomed", "READ");
    const s3 = capturingS3Client(credentialsOf(doomed));
    const get = new GetObjectCommand({ Bucket: repoId, Key: "photos/cat.jpg" });
    const before = await s3.signed(get);
    expect(await verify("s3", before)).toEqual(valid(doomed, "READ"));

    expect(await curlDelete(`/repo/${repoId}/apikey/${doomed.id}`)).toEqual({
      success: true,
      message: "API key deleted",
    });
    expect(await verify("s3", await s3.signed(get))).toEqual(
      refused("REVOKED", "InvalidAccessKeyId"),
    );
    // The request that was VALID a moment ago is refused too.
    expect((await verify("s3", before)).code).toBe("REVOKED");
  });
});

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** CRC-32 (IEEE 802.3), written here from the definition, not imported from src/. */
function crc32(text: string): number {
  let crc = 0xffffffff;
  for (const byte of Buffer.from(text, "utf8")) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** The CRC-32 of an AI secret's 44 random characters as 6 base62 digits, most significant first. */
function checksumOf(body: string): string {
  let value = crc32(body);
  let checksum = "";
  for (let i = 0; i < 6; i++) {
    checksum = BASE62[value % 62] + checksum;
    value = Math.floor(value / 62);
  }
  return checksum;
}

/** An AI secret of the issued shape: `fbai_sk_` + 44 base62 + the base62 CRC-32 of those 44. */
function wellFormedAiSecret(): string {
  const body = Array.from({ length: 44 }, () => BASE62[randomInt(62)]).join("");
  return `fbai_sk_${body}${checksumOf(body)}`;
}

describe("an AI gateway checks bearer secrets", () => {
  it("the AI key's secret is VALID with its ids and AI type; one character changed is INVALID", async () => {
    expect(aiKey.secret).toMatch(/^fbai_sk_[0-9A-Za-z]{50}$/);
    expect(await verify("ai", { secret: aiKey.secret, clientIp: "198.51.100.4" })).toEqual({
      success: true,
      valid: true,
      code: "VALID",
      keyId: aiKey.id,
      key: aiKey.key,
      repoId,
      workspaceId,
      aiType: "ANTHROPIC",
    });
    // As a client sends it, in an Authorization header's value.
    expect((await verify("ai", { secret: `Bearer ${aiKey.secret}` })).code).toBe("VALID");

    const at = 20;
    const typo = `${aiKey.secret.slice(0, at)}${aiKey.secret[at] === "a" ? "b" : "a"}${aiKey.secret.slice(at + 1)}`;
    expect(await verify("ai", { secret: typo })).toEqual({
      success: true,
      valid: false,
      code: "INVALID",
      message: expect.any(String),
    });
  });

  it("a well-formed secret with a correct checksum that nobody issued is INVALID", async () => {
    const forged = wellFormedAiSecret();
    // The test's own CRC agrees with the Worker's: the real secret's checksum is reproduced.
    const real = aiKey.secret.slice("fbai_sk_".length);
    expect(checksumOf(real.slice(0, 44))).toBe(real.slice(44));
    expect(forged).toMatch(/^fbai_sk_[0-9A-Za-z]{50}$/);
    expect((await verify("ai", { secret: forged })).code).toBe("INVALID");
  });

  it("an AI key deleted with curl is REVOKED", async () => {
    const doomed = await newAiKey("Doomed AI");
    expect((await verify("ai", { secret: doomed.secret })).code).toBe("VALID");
    expect((await curlDelete(`/repo/${repoId}/ai/apikey/${doomed.id}`)).success).toBe(true);
    expect(await verify("ai", { secret: doomed.secret })).toEqual({
      success: true,
      valid: false,
      code: "REVOKED",
      message: expect.any(String),
    });
  });
});

describe("who may ask", () => {
  it("a user's token is 403 on /verify/*, a gateway's is 403 on management, no token is 401", async () => {
    const s3 = capturingS3Client(credentialsOf(reader));
    const signed = await s3.signed(new GetObjectCommand({ Bucket: repoId, Key: "a" }));
    const post = (path: string, auth: string[], body: unknown) =>
      curl(path, [
        ...["-X", "POST", "-H", "Content-Type: application/json", ...auth],
        ...["--data-binary", JSON.stringify(body)],
      ]);
    const asUser = ["-H", `Authorization: Bearer ${userToken}`];
    const asGateway = ["-H", `Authorization: Bearer ${gatewayToken}`];

    for (const response of [
      await post("/verify/s3", asUser, signed),
      await post("/verify/ai", asUser, { secret: aiKey.secret }),
      await curl("/workspace", asGateway),
      await curl(`/repo/${repoId}/apikey`, asGateway),
    ]) {
      expect(response.status, response.text).toBe(403);
      expect(response.headers["content-type"]).toContain("application/json");
      expect(response.body).toMatchObject({ success: false, code: "FORBIDDEN" });
      for (const secret of secrets) expect(response.text).not.toContain(secret);
    }

    const anonymous = await post("/verify/s3", [], signed);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers["www-authenticate"]).toBe("Bearer"); // no credentials: no error code (RFC 6750 §3.1)
    expect(anonymous.body).toMatchObject({ success: false, code: "UNAUTHORIZED" });
  });
});

describe("lastUsedAt", () => {
  it("a VALID verification shows as the key's lastUsedAt within seconds, off the request path", async () => {
    const used = await newStorageKey("Used", "READ");
    const listed = async () =>
      (await api("GET", `/repo/${repoId}/apikey`)).keys.find(
        (key: { id: string }) => key.id === used.id,
      );
    expect((await listed()).lastUsedAt).toBeNull();

    const s3 = capturingS3Client(credentialsOf(used));
    const since = Date.now();
    const request = await s3.signed(new GetObjectCommand({ Bucket: repoId, Key: "a.txt" }));
    expect((await verify("s3", request)).code).toBe("VALID");

    let lastUsedAt: string | null = null;
    for (const deadline = Date.now() + 5_000; Date.now() < deadline; ) {
      lastUsedAt = (await listed()).lastUsedAt;
      if (lastUsedAt !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(lastUsedAt).not.toBeNull();
    const at = Date.parse(lastUsedAt as string);
    expect(at).toBeGreaterThanOrEqual(since - 1000);
    expect(at).toBeLessThanOrEqual(Date.now());
  });
});
