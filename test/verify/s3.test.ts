import { env } from "cloudflare:workers";
import { AwsClient } from "aws4fetch";
import { beforeAll, describe, expect, it } from "vitest";
import type { Bindings } from "../../src/env";
import { verifyS3Request } from "../../src/verify/s3";
import type { VerifyS3Request } from "../../src/verify/schemas";
import { call, team } from "../support/api";
import { countingDb, createStorageKey } from "../support/keys";
import {
  HOST,
  keyVerifier,
  presignedS3Request,
  s3Signer,
  sha256Hex,
  signedS3Request,
  verifyS3Http,
} from "./support";

let admin: string;
let repoId: string;
let workspaceId: string;
let reader: { id: string; key: string; secret: string };
let writer: { id: string; key: string; secret: string };

beforeAll(async () => {
  ({ admin, repoId, workspaceId } = await team());
  reader = await createStorageKey(admin, repoId, { accessType: "READ" });
  writer = await createStorageKey(admin, repoId, { accessType: "WRITE" });
});

const ignoreWaitUntil = () => {};

/** The repo's creation date as stored: what ListBuckets shows at the gateway. */
const repoCreatedAt = async (id: string) =>
  (await env.DB.prepare("SELECT created_at FROM repos WHERE id = ?")
    .bind(id)
    .first<string>("created_at")) as string;

/** The VERIFY_FAILURES binding, recording the subject of every failure counted. */
function countingLimiter() {
  const subjects: string[] = [];
  const real = (env as Bindings).VERIFY_FAILURES as RateLimit;
  const binding: RateLimit = {
    limit(options) {
      subjects.push(options.key);
      return real.limit(options);
    },
  };
  return { binding, calls: () => subjects };
}

/** Through the real POST /verify/s3, asserting the envelope every decision has. */
async function verify(input: unknown) {
  const response = await verifyS3Http(input);
  expect(response.status, response.text).toBe(200);
  expect(response.body.success).toBe(true);
  return response.body;
}

describe("a header-signed request from AWS's signer", () => {
  it("is VALID for a GET, with the key's repo, workspace and access level, and no secret", async () => {
    const input = await signedS3Request(reader, { path: `/${repoId}/photos/cat.jpg` });
    const answer = await verify(input);
    expect(answer).toEqual({
      success: true,
      valid: true,
      code: "VALID",
      keyId: reader.id,
      key: reader.key,
      repoId,
      workspaceId,
      accessType: "READ",
      repoCreatedAt: await repoCreatedAt(repoId),
      payloadHash: await sha256Hex(""),
      signedHeaders: ["host", "x-amz-content-sha256", "x-amz-date"],
      checksums: {},
    });
    expect(JSON.stringify(answer)).not.toContain(reader.secret);
  });

  it("is VALID for a PUT whose body hash is signed, with a query and an encoded key", async () => {
    const input = await signedS3Request(writer, {
      method: "PUT",
      path: `/${repoId}/a%20folder/r%C3%A9sum%C3%A9%2B1.txt`,
      query: { "x-id": "PutObject" },
      headers: { "content-type": "text/plain", "x-amz-meta-owner": "  Ada   Lovelace " },
      body: "hello, world",
    });
    expect((await verify({ ...input, requiredAccess: "WRITE" })).code).toBe("VALID");
  });

  it("is VALID with UNSIGNED-PAYLOAD and with the streaming trailer form", async () => {
    for (const payloadHash of ["UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"]) {
      const input = await signedS3Request(writer, {
        method: "PUT",
        path: `/${repoId}/stream.bin`,
        payloadHash,
        headers: { "x-amz-trailer": "x-amz-checksum-crc32", "content-encoding": "aws-chunked" },
      });
      expect(await verify(input), payloadHash).toMatchObject({ code: "VALID", payloadHash });
    }
  });

  it("is VALID when signed by aws4fetch, a second signer nobody here wrote", async () => {
    const client = new AwsClient({
      accessKeyId: reader.key,
      secretAccessKey: reader.secret,
      service: "s3",
      region: "auto",
    });
    const signed = await client.sign(`https://${HOST}/${repoId}/?list-type=2&prefix=a%2Fb`, {
      method: "GET",
    });
    const headers = Object.fromEntries(signed.headers);
    expect((await verify({ method: "GET", url: signed.url, headers })).code).toBe("VALID");
  });

  it("answers the same through the KeyVerifier service binding (RPC)", async () => {
    const input = await signedS3Request(reader, { path: `/${repoId}/rpc.txt` });
    expect(await keyVerifier.verifyS3Request(input)).toEqual(await verify(input));
  });
});

describe("a tampered or mis-signed request", () => {
  const refusedAs = async (input: VerifyS3Request, code: string, s3Error: string) => {
    const answer = await verify(input);
    expect(answer).toMatchObject({ success: true, valid: false, code, s3Error });
    expect(Object.keys(answer).sort()).toEqual(["code", "message", "s3Error", "success", "valid"]);
    return answer;
  };

  it("is SIGNATURE_MISMATCH when the path, a header or the host changed", async () => {
    const input = await signedS3Request(reader, {
      path: `/${repoId}/a.txt`,
      headers: { "x-amz-meta-tag": "blue" },
    });
    const mismatch = ["SIGNATURE_MISMATCH", "SignatureDoesNotMatch"] as const;
    await refusedAs({ ...input, url: input.url.replace("/a.txt", "/b.txt") }, ...mismatch);
    await refusedAs(
      { ...input, headers: { ...input.headers, "x-amz-meta-tag": "red" } },
      ...mismatch,
    );
    await refusedAs({ ...input, headers: { ...input.headers, host: "evil.example" } }, ...mismatch);
    await refusedAs({ ...input, method: "DELETE" }, ...mismatch);
    // An S3 path is signed as sent: decoding it differently is a different request.
    await refusedAs({ ...input, url: input.url.replace("/a.txt", "/a%2Etxt") }, ...mismatch);
  });

  it("is SIGNATURE_MISMATCH for the wrong secret", async () => {
    const input = await signedS3Request(
      { key: reader.key, secret: writer.secret },
      { path: `/${repoId}/a.txt` },
    );
    await refusedAs(input, "SIGNATURE_MISMATCH", "SignatureDoesNotMatch");
  });

  it("is INVALID_ACCESS_KEY for a key id that does not exist", async () => {
    const input = await signedS3Request(
      { key: "FBAKNOSUCHKEY0000000", secret: reader.secret },
      { path: `/${repoId}/a.txt` },
    );
    await refusedAs(input, "INVALID_ACCESS_KEY", "InvalidAccessKeyId");
  });

  it("is REQUEST_TIME_SKEWED when signed 20 minutes ago or ahead", async () => {
    for (const offset of [-20, 20]) {
      const input = await signedS3Request(reader, {
        path: `/${repoId}/a.txt`,
        signingDate: new Date(Date.now() + offset * 60_000),
      });
      await refusedAs(input, "REQUEST_TIME_SKEWED", "RequestTimeTooSkewed");
    }
    // 14 minutes is within S3's 15.
    const close = await signedS3Request(reader, {
      path: `/${repoId}/a.txt`,
      signingDate: new Date(Date.now() - 14 * 60_000),
    });
    expect((await verify(close)).code).toBe("VALID");
  });

  it("is MALFORMED for a garbled Authorization header and bad hashes", async () => {
    const input = await signedS3Request(reader, { path: `/${repoId}/a.txt` });
    const authorization = input.headers.authorization as string;
    const garbled = [
      "AWS4-HMAC-SHA256 garbage",
      authorization.replace("Credential=", "Credentials="),
      authorization.replace("/aws4_request", "/aws5_request"),
      authorization.replace(/Signature=[0-9a-f]+/, "Signature=xyz"),
      authorization.replace("SignedHeaders=host;", "SignedHeaders="),
      authorization.replace("/s3/", "/sts/"),
      `AWS ${reader.key}:c2lnbmF0dXJl`,
    ];
    for (const value of garbled) {
      await refusedAs(
        { ...input, headers: { ...input.headers, authorization: value } },
        "MALFORMED",
        "AuthorizationHeaderMalformed",
      );
    }
    await refusedAs(
      {
        ...input,
        headers: { ...input.headers, "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-EVENTS" },
      },
      "MALFORMED",
      "AuthorizationHeaderMalformed",
    );
    await refusedAs(
      { ...input, headers: { ...input.headers, "x-amz-date": "yesterday" } },
      "MALFORMED",
      "AuthorizationHeaderMalformed",
    );
  });

  it("is INSUFFICIENT_ACCESS when the key is below requiredAccess (only after the signature)", async () => {
    const input = await signedS3Request(reader, { method: "PUT", path: `/${repoId}/a.txt` });
    const answer = await refusedAs(
      { ...input, requiredAccess: "WRITE" },
      "INSUFFICIENT_ACCESS",
      "AccessDenied",
    );
    expect(answer.valid === false && answer.message).toMatch(/READ/);
    expect((await verify({ ...input, requiredAccess: "READ" })).code).toBe("VALID");
    const admin = await signedS3Request(writer, { method: "PUT", path: `/${repoId}/a.txt` });
    await refusedAs({ ...admin, requiredAccess: "ADMIN" }, "INSUFFICIENT_ACCESS", "AccessDenied");
  });

  it("honours S3_REGION when set, and any region when not", async () => {
    const elsewhere = await signedS3Request(reader, {
      path: `/${repoId}/a.txt`,
      region: "eu-west-1",
    });
    expect((await verify(elsewhere)).code).toBe("VALID");
    const scoped = { ...(env as Bindings), S3_REGION: "auto" };
    const refused = await verifyS3Request(scoped, elsewhere, ignoreWaitUntil);
    expect(refused).toMatchObject({ valid: false, code: "MALFORMED" });
    const inAuto = await signedS3Request(reader, { path: `/${repoId}/a.txt`, region: "auto" });
    expect((await verifyS3Request(scoped, inAuto, ignoreWaitUntil)).code).toBe("VALID");
  });
});

describe("an unsigned request", () => {
  it("is NOT_SIGNED, AccessDenied as S3 answers anonymous requests, and is no failure counted", async () => {
    const input = await signedS3Request(reader, { path: `/${repoId}/a.txt` });
    const { authorization: _, ...anonymous } = input.headers;
    const limiter = countingLimiter();
    const answer = await verifyS3Request(
      { ...(env as Bindings), VERIFY_FAILURES: limiter.binding },
      { ...input, headers: anonymous, clientIp: "192.0.2.201" },
      ignoreWaitUntil,
    );
    expect(answer).toEqual({
      success: true,
      valid: false,
      code: "NOT_SIGNED",
      s3Error: "AccessDenied",
      message: "Anonymous access is not allowed; sign the request",
    });
    expect(limiter.calls()).toEqual([]);
    // A plain URL with no query at all, over HTTP too.
    expect(
      await verify({ method: "GET", url: `https://${HOST}/${repoId}/a.txt`, headers: {} }),
    ).toMatchObject({ code: "NOT_SIGNED", s3Error: "AccessDenied" });
  });
});

describe("what the signature covers, for the gateway to hold the body to", () => {
  it("a header-signed PUT: its body's hash, its signed headers in lower case, its signed checksums", async () => {
    const input = await signedS3Request(writer, {
      method: "PUT",
      path: `/${repoId}/hello.txt`,
      body: "hello",
      headers: {
        "Content-Type": "text/plain",
        "X-Amz-Checksum-CRC32": "NhCmhg==",
        "x-amz-sdk-checksum-algorithm": "CRC32",
      },
    });
    const answer = await verify({ ...input, requiredAccess: "WRITE" });
    expect(answer).toMatchObject({
      code: "VALID",
      payloadHash: await sha256Hex("hello"),
      signedHeaders: [
        "content-type",
        "host",
        "x-amz-checksum-crc32",
        "x-amz-content-sha256",
        "x-amz-date",
        "x-amz-sdk-checksum-algorithm",
      ],
      checksums: { "x-amz-checksum-crc32": "NhCmhg==" },
    });
  });

  it("a presigned PUT: the X-Amz-Content-Sha256 its query signed, and the checksums it signed in its query, names in any case", async () => {
    const intended = await sha256Hex("intended");
    const input = await presignedS3Request(writer, {
      method: "PUT",
      path: `/${repoId}/pinned.txt`,
      payloadHash: intended,
      headers: {
        "x-amz-checksum-crc32": "AAAAAA==",
        "X-Amz-Checksum-SHA256": "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=",
      },
    });
    expect(input.url).toContain(`X-Amz-Content-Sha256=${intended}`);
    expect(input.url).toContain("X-Amz-Checksum-SHA256=");
    expect(await verify(input)).toMatchObject({
      code: "VALID",
      payloadHash: intended,
      signedHeaders: ["host"],
      checksums: {
        "x-amz-checksum-crc32": "AAAAAA==",
        "x-amz-checksum-sha256": "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=",
      },
    });
  });

  it("a presigned URL with no payload hash in its query: UNSIGNED-PAYLOAD (aws4fetch presigns so)", async () => {
    const client = new AwsClient({
      accessKeyId: writer.key,
      secretAccessKey: writer.secret,
      service: "s3",
      region: "auto",
    });
    const signed = await client.sign(`https://${HOST}/${repoId}/up.bin`, {
      method: "PUT",
      aws: { signQuery: true },
    });
    expect(signed.url.toLowerCase()).not.toContain("x-amz-content-sha256");
    const headers = Object.fromEntries(signed.headers);
    expect(await verify({ method: "PUT", url: signed.url, headers })).toMatchObject({
      code: "VALID",
      payloadHash: "UNSIGNED-PAYLOAD",
      checksums: {},
    });
  });

  it("a presigned URL whose payload hash and checksum are signed headers: those (aws4fetch presigns a hash so)", async () => {
    const intended = await sha256Hex("intended");
    const client = new AwsClient({
      accessKeyId: writer.key,
      secretAccessKey: writer.secret,
      service: "s3",
      region: "auto",
    });
    const signed = await client.sign(`https://${HOST}/${repoId}/up.bin`, {
      method: "PUT",
      headers: { "X-Amz-Content-Sha256": intended, "x-amz-checksum-crc32": "AAAAAA==" },
      aws: { signQuery: true },
    });
    const headers = Object.fromEntries(signed.headers);
    const answer = await verify({ method: "PUT", url: signed.url, headers });
    expect(answer).toMatchObject({
      code: "VALID",
      payloadHash: intended,
      signedHeaders: ["host", "x-amz-checksum-crc32", "x-amz-content-sha256"],
      checksums: { "x-amz-checksum-crc32": "AAAAAA==" },
    });
    // The signature covers that hash: another one is another request.
    const other = { ...headers, "x-amz-content-sha256": await sha256Hex("other") };
    expect((await verify({ method: "PUT", url: signed.url, headers: other })).code).toBe(
      "SIGNATURE_MISMATCH",
    );
  });

  it("is MALFORMED when a presigned URL's query and a signed header disagree on a checksum or the payload hash", async () => {
    const path = `/${repoId}/pinned.txt`;
    const checksumTwice = (header: string) =>
      presignedS3Request(writer, {
        method: "PUT",
        path,
        query: { "x-amz-checksum-crc32": "AAAAAA==" },
        headers: { "x-amz-checksum-crc32": header },
        keptAsHeaders: ["x-amz-checksum-crc32"],
      });
    expect(await verify(await checksumTwice("AAAAAA=="))).toMatchObject({
      code: "VALID",
      checksums: { "x-amz-checksum-crc32": "AAAAAA==" },
    });
    expect(await verify(await checksumTwice("NhCmhg=="))).toMatchObject({
      code: "MALFORMED",
      s3Error: "AuthorizationHeaderMalformed",
    });

    const hashTwice = await presignedS3Request(writer, {
      method: "PUT",
      path,
      query: { "X-Amz-Content-Sha256": await sha256Hex("intended") },
      payloadHash: await sha256Hex("something else"),
      keptAsHeaders: ["x-amz-content-sha256"],
    });
    expect(await verify(hashTwice)).toMatchObject({ code: "MALFORMED" });

    // The same checksum twice in the query, in two spellings, with two values.
    const twice = await presignedS3Request(writer, {
      method: "PUT",
      path,
      query: { "x-amz-checksum-crc32": "AAAAAA==", "X-Amz-Checksum-Crc32": "NhCmhg==" },
    });
    expect(await verify(twice)).toMatchObject({ code: "MALFORMED" });
  });

  it("lists no checksum parameter, and no query checksum of a header-signed request", async () => {
    const input = await signedS3Request(reader, {
      path: `/${repoId}/a.txt`,
      // Signed as part of the query, but S3 reads checksums from a header-signed request's headers.
      query: { "x-amz-checksum-crc32": "AAAAAA==" },
      headers: { "x-amz-checksum-mode": "ENABLED", "x-amz-checksum-algorithm": "CRC32" },
    });
    expect(await verify(input)).toMatchObject({ code: "VALID", checksums: {} });
  });
});

describe("an x-amz-* header the signature does not cover", () => {
  const notSigned = {
    success: true,
    valid: false,
    code: "HEADERS_NOT_SIGNED",
    s3Error: "AccessDenied",
    message: "There were headers present in the request which were not signed",
  };

  it("is HEADERS_NOT_SIGNED on a header-signed request: x-amz-meta-*, x-amz-checksum-*, any case", async () => {
    const input = await signedS3Request(writer, { method: "PUT", path: `/${repoId}/a.txt` });
    expect((await verify(input)).code).toBe("VALID");
    for (const [name, value] of [
      ["x-amz-meta-evil", "yes"],
      ["X-Amz-Checksum-CRC32", "AAAAAA=="],
      ["x-amz-server-side-encryption", "AES256"],
    ] as const) {
      const headers = { ...input.headers, [name]: value };
      expect(await verify({ ...input, headers }), name).toEqual(notSigned);
    }
  });

  it("is HEADERS_NOT_SIGNED on a presigned URL, x-amz-content-sha256 included", async () => {
    const input = await presignedS3Request(writer, { method: "PUT", path: `/${repoId}/a.txt` });
    expect((await verify(input)).code).toBe("VALID");
    for (const [name, value] of [
      ["x-amz-meta-injected", "yes"],
      ["x-amz-checksum-crc32", "AAAAAA=="],
      ["x-amz-content-sha256", "UNSIGNED-PAYLOAD"],
    ] as const) {
      const headers = { ...input.headers, [name]: value };
      expect(await verify({ ...input, headers }), name).toEqual(notSigned);
    }
  });

  it("but x-amz-content-sha256 may stay out of a header-signed request's SignedHeaders: the canonical request covers it anyway", async () => {
    const signed = await s3Signer(reader.key, reader.secret).sign(
      {
        method: "GET",
        protocol: "https:",
        hostname: HOST,
        path: `/${repoId}/a.txt`,
        headers: { host: HOST, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
      },
      { unsignableHeaders: new Set(["x-amz-content-sha256"]) },
    );
    const headers = signed.headers as Record<string, string>;
    expect(headers.authorization).toContain("SignedHeaders=host;x-amz-date,");
    const input = { method: "GET", url: `https://${HOST}/${repoId}/a.txt`, headers };
    expect(await verify(input)).toMatchObject({ code: "VALID", payloadHash: "UNSIGNED-PAYLOAD" });
    const changed = { ...headers, "x-amz-content-sha256": await sha256Hex("") };
    expect((await verify({ ...input, headers: changed })).code).toBe("SIGNATURE_MISMATCH");
  });

  it("headers that are not x-amz-* may stay unsigned, as clients leave user-agent and x-amzn-trace-id", async () => {
    const input = await signedS3Request(reader, { path: `/${repoId}/a.txt` });
    const headers = {
      ...input.headers,
      "user-agent": "aws-cli/2.17.0",
      "X-Amzn-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793",
      expect: "100-continue",
    };
    expect((await verify({ ...input, headers })).code).toBe("VALID");
    const presigned = await presignedS3Request(writer, { method: "PUT", path: `/${repoId}/b` });
    const withType = { ...presigned.headers, "content-type": "text/html" };
    expect((await verify({ ...presigned, headers: withType })).code).toBe("VALID");
  });

  it("counts as a failure against the key and the address, like a bad signature", async () => {
    const input = await signedS3Request(reader, { path: `/${repoId}/a.txt` });
    const limiter = countingLimiter();
    const answer = await verifyS3Request(
      { ...(env as Bindings), VERIFY_FAILURES: limiter.binding },
      {
        ...input,
        headers: { ...input.headers, "x-amz-meta-evil": "yes" },
        clientIp: "192.0.2.202",
      },
      ignoreWaitUntil,
    );
    expect(answer.code).toBe("HEADERS_NOT_SIGNED");
    expect(limiter.calls()).toEqual([`key:${reader.key}`, "ip:192.0.2.202"]);
  });
});

describe("a presigned URL from AWS's signer", () => {
  it("is VALID for GET and PUT within its lifetime", async () => {
    const get = await presignedS3Request(reader, { path: `/${repoId}/shared.pdf` });
    expect(get.url).toContain("X-Amz-Signature=");
    expect((await verify(get)).code).toBe("VALID");
    const put = await presignedS3Request(writer, { method: "PUT", path: `/${repoId}/up.bin` });
    expect((await verify({ ...put, requiredAccess: "WRITE" })).code).toBe("VALID");
  });

  it("is REQUEST_EXPIRED once X-Amz-Expires has passed", async () => {
    const input = await presignedS3Request(
      reader,
      { path: `/${repoId}/old.pdf`, signingDate: new Date(Date.now() - 3_600_000) },
      60,
    );
    const answer = await verify(input);
    expect(answer).toMatchObject({
      valid: false,
      code: "REQUEST_EXPIRED",
      s3Error: "AccessDenied",
    });
  });

  it("is SIGNATURE_MISMATCH when its query or lifetime is changed", async () => {
    const input = await presignedS3Request(reader, { path: `/${repoId}/shared.pdf` }, 60);
    const longer = { ...input, url: input.url.replace("X-Amz-Expires=60", "X-Amz-Expires=6000") };
    expect((await verify(longer)).code).toBe("SIGNATURE_MISMATCH");
    expect((await verify({ ...input, url: `${input.url}&extra=1` })).code).toBe(
      "SIGNATURE_MISMATCH",
    );
  });

  it("is MALFORMED past 7 days or without its parts", async () => {
    const input = await presignedS3Request(reader, { path: `/${repoId}/shared.pdf` }, 60);
    const week = { ...input, url: input.url.replace("X-Amz-Expires=60", "X-Amz-Expires=604801") };
    expect((await verify(week)).code).toBe("MALFORMED");
    const partial = { ...input, url: input.url.replace(/X-Amz-Credential=[^&]+&/, "") };
    expect((await verify(partial)).code).toBe("MALFORMED");
  });
});

describe("a deleted key", () => {
  it("is REVOKED for its holder at once, in the isolate that deleted it", async () => {
    const key = await createStorageKey(admin, repoId, { accessType: "WRITE" });
    const input = await signedS3Request(key, { path: `/${repoId}/a.txt` });
    expect((await verify(input)).code).toBe("VALID"); // now remembered by this isolate
    const deleted = await call("DELETE", `/repo/${repoId}/apikey/${key.id}`, { as: admin });
    expect(deleted.status).toBe(200);
    expect(await verify(input)).toMatchObject({
      valid: false,
      code: "REVOKED",
      s3Error: "InvalidAccessKeyId",
    });
  });

  it("is INVALID_ACCESS_KEY, not REVOKED, to a caller who cannot sign with its secret", async () => {
    const key = await createStorageKey(admin, repoId);
    await call("DELETE", `/repo/${repoId}/apikey/${key.id}`, { as: admin });
    const forged = await signedS3Request(
      { key: key.key, secret: reader.secret },
      { path: `/${repoId}/a.txt` },
    );
    expect((await verify(forged)).code).toBe("INVALID_ACCESS_KEY");
  });

  it("loses access at once when its access level is lowered", async () => {
    const key = await createStorageKey(admin, repoId, { accessType: "WRITE" });
    const input = await signedS3Request(key, { method: "PUT", path: `/${repoId}/a.txt` });
    expect((await verify({ ...input, requiredAccess: "WRITE" })).code).toBe("VALID");
    const lowered = await call("PUT", `/repo/${repoId}/apikey/${key.id}`, {
      as: admin,
      body: { name: "CI Bot", accessType: "READ" },
    });
    expect(lowered.status).toBe(200);
    expect((await verify({ ...input, requiredAccess: "WRITE" })).code).toBe("INSUFFICIENT_ACCESS");
  });
});

describe("the hot path", () => {
  it("reads D1 once for a key it has not seen, and not at all while it remembers it", async () => {
    const key = await createStorageKey(admin, repoId);
    const { db, roundTrips } = countingDb();
    const counted = { ...(env as Bindings), DB: db };
    const first = await signedS3Request(key, { path: `/${repoId}/1` });
    expect((await verifyS3Request(counted, first, ignoreWaitUntil)).code).toBe("VALID");
    expect(roundTrips()).toBe(1);
    const second = await signedS3Request(key, { path: `/${repoId}/2` });
    expect((await verifyS3Request(counted, second, ignoreWaitUntil)).code).toBe("VALID");
    expect(roundTrips()).toBe(1);
  });

  it("remembers an unknown key briefly, so a flood of it reaches D1 once", async () => {
    const { db, roundTrips } = countingDb();
    const counted = { ...(env as Bindings), DB: db };
    const input = await signedS3Request(
      { key: "FBAKFLOODFLOODFLOOD0", secret: reader.secret },
      { path: `/${repoId}/x` },
    );
    for (let i = 0; i < 5; i++) {
      expect((await verifyS3Request(counted, input, ignoreWaitUntil)).code).toBe(
        "INVALID_ACCESS_KEY",
      );
    }
    expect(roundTrips()).toBe(1);
  });

  it("reads D1 every time when VERIFY_CACHE_TTL_SECONDS is 0", async () => {
    const key = await createStorageKey(admin, repoId);
    const { db, roundTrips } = countingDb();
    const uncached = { ...(env as Bindings), DB: db, VERIFY_CACHE_TTL_SECONDS: "0" };
    const input = await signedS3Request(key, { path: `/${repoId}/1` });
    await verifyS3Request(uncached, input, ignoreWaitUntil);
    await verifyS3Request(uncached, input, ignoreWaitUntil);
    expect(roundTrips()).toBe(2);
  });

  it("records lastUsedAt off the request path, at most once a minute per key", async () => {
    const key = await createStorageKey(admin, repoId);
    const pending: Promise<unknown>[] = [];
    const waitUntil = (promise: Promise<unknown>) => pending.push(promise);
    const lastUsedAt = async () => {
      const row = await env.DB.prepare("SELECT last_used_at AS at FROM storage_keys WHERE id = ?")
        .bind(key.id)
        .first<{ at: string | null }>();
      return row?.at;
    };
    const settled = async () => {
      // The write is batched a second after the first use; wait for every flush scheduled.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await Promise.all(pending);
    };
    const input = await signedS3Request(key, { path: `/${repoId}/1` });
    const now = Date.now();
    await verifyS3Request(env as Bindings, input, waitUntil, now);
    expect(await lastUsedAt()).toBeNull(); // not on the request path
    await settled();
    expect(await lastUsedAt()).toBe(new Date(now).toISOString());

    await verifyS3Request(env as Bindings, input, waitUntil, now + 30_000);
    await settled();
    expect(await lastUsedAt()).toBe(new Date(now).toISOString());

    await verifyS3Request(env as Bindings, input, waitUntil, now + 61_000);
    await settled();
    expect(await lastUsedAt()).toBe(new Date(now + 61_000).toISOString());
    const listed = await call("GET", `/repo/${repoId}/apikey`, { as: admin });
    const row = listed.body.keys.find((k: { id: string }) => k.id === key.id);
    expect(row.lastUsedAt).toBe(new Date(now + 61_000).toISOString());
  });
});
