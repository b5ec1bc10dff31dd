import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { listsWithin, reaches } from "../src/scope";
import type { TemporaryScope } from "../src/verify";
import { BUCKET, codeOf, headerSigned, presigned, send } from "./support/requests";

/**
 * A temporary credential's scope (the verifier's answer's `scope`), enforced on every operation.
 * The model verifier reads the scope from the request's token (support/key-verifier-model.mjs).
 */

const BUILD = { prefixes: ["builds/1/"], objects: ["notes.txt"] };
const stored = (key: string) => env.BUCKET.get(`${BUCKET}/${key}`);
const seed = (key: string, body = "seeded") => env.BUCKET.put(`${BUCKET}/${key}`, body);

const asCredential = (
  method: string,
  pathAndQuery: string,
  scope: { prefixes?: string[]; objects?: string[] } = BUILD,
  options: { headers?: Record<string, string>; body?: BodyInit } = {},
) => send(headerSigned(method, `/${BUCKET}/${pathAndQuery}`, { ...options, scope }));

async function expectDenied(response: Response) {
  expect([response.status, await codeOf(response)]).toEqual([403, "AccessDenied"]);
}

const scopeOf = (prefixes: string[], objects: string[] = []): TemporaryScope => ({
  permission: "WRITE",
  prefixes,
  objects,
  expiration: "2030-01-01T00:00:00.000Z",
  parentKeyId: "p",
});

describe("the scope rule", () => {
  it("reaches keys under a prefix or named exactly, compared as stored", () => {
    const scope = scopeOf(["builds/1/"], ["notes.txt"]);
    expect(reaches(scope, "builds/1/a.txt")).toBe(true);
    expect(reaches(scope, "builds/1/")).toBe(true);
    expect(reaches(scope, "notes.txt")).toBe(true);
    for (const key of ["builds/10/a", "builds/1", "notes.txt2", "Builds/1/a", "builds%2F1%2Fa"]) {
      expect(reaches(scope, key), key).toBe(false);
    }
    // No Unicode normalisation: é precomposed and decomposed are different keys.
    expect(reaches(scopeOf(["café/"]), "cafe\u0301/x")).toBe(false);
    expect(reaches(scopeOf(["café/"]), "café/x")).toBe(true);
    // No scope, or an empty one: the whole bucket.
    expect(reaches(undefined, "anything")).toBe(true);
    expect(reaches(scopeOf([]), "anything")).toBe(true);
  });

  it("lists only within a prefix; objects alone never list", () => {
    const scope = scopeOf(["builds/1/"]);
    expect(listsWithin(scope, "builds/1/")).toBe(true);
    expect(listsWithin(scope, "builds/1/logs/")).toBe(true);
    expect(listsWithin(scope, "builds/")).toBe(false);
    expect(listsWithin(scope, "")).toBe(false);
    expect(listsWithin(scopeOf([], ["notes.txt"]), "notes.txt")).toBe(false);
    expect(listsWithin(scopeOf([]), "")).toBe(true);
  });
});

describe("a temporary credential at the gateway", () => {
  it("puts, gets, heads and deletes within its scope", async () => {
    expect((await asCredential("PUT", "builds/1/a.txt", BUILD, { body: "a" })).status).toBe(200);
    expect(await (await stored("builds/1/a.txt"))?.text()).toBe("a");
    const got = await asCredential("GET", "builds/1/a.txt");
    expect([got.status, await got.text()]).toEqual([200, "a"]);
    expect((await asCredential("HEAD", "notes.txt")).status).toBe(404);
    expect((await asCredential("DELETE", "builds/1/a.txt")).status).toBe(204);
    expect(await stored("builds/1/a.txt")).toBeNull();
  });

  it("is AccessDenied outside it, for every object operation, and writes nothing", async () => {
    await seed("secret.txt");
    await expectDenied(await asCredential("PUT", "builds/2/a.txt", BUILD, { body: "x" }));
    expect(await stored("builds/2/a.txt")).toBeNull();
    await expectDenied(await asCredential("GET", "secret.txt"));
    // A HEAD answer has no body to name the code.
    expect((await asCredential("HEAD", "secret.txt")).status).toBe(403);
    await expectDenied(await asCredential("DELETE", "secret.txt"));
    await expectDenied(await asCredential("GET", "secret.txt?tagging"));
    await expectDenied(await asCredential("POST", "secret2.txt?uploads"));
    await expectDenied(
      await asCredential("PUT", "secret.txt?partNumber=1&uploadId=u", BUILD, { body: "x" }),
    );
    await expectDenied(await asCredential("DELETE", "secret.txt?uploadId=u"));
    await expectDenied(await asCredential("GET", "secret.txt?uploadId=u"));
    expect(await (await stored("secret.txt"))?.text()).toBe("seeded");
  });

  it("a presigned URL is held to the scope too", async () => {
    await seed("secret.txt");
    await seed("builds/1/p.txt", "p");
    const inside = await send(presigned("GET", `/${BUCKET}/builds/1/p.txt`, { scope: BUILD }));
    expect([inside.status, await inside.text()]).toEqual([200, "p"]);
    await expectDenied(await send(presigned("GET", `/${BUCKET}/secret.txt`, { scope: BUILD })));
  });

  it("cannot escape by encoding, dot segments or Unicode spelling", async () => {
    await seed("secret.txt");
    await seed("builds/secret.txt");
    // Dot segments are resolved before the key is read: these name builds/secret.txt.
    for (const path of [
      "builds/1/../secret.txt",
      "builds/1/%2E%2E/secret.txt",
      "builds/1/./../secret.txt",
    ]) {
      await expectDenied(await asCredential("GET", path));
    }
    // An encoded slash is part of the key: this is the object "builds/1/../secret.txt", which
    // lies under the prefix as stored, and is not builds/secret.txt.
    const literal = await asCredential("PUT", "builds/1%2F..%2Fsecret.txt", BUILD, { body: "lit" });
    expect(literal.status).toBe(200);
    expect(await (await stored("builds/1/../secret.txt"))?.text()).toBe("lit");
    expect(await (await stored("builds/secret.txt"))?.text()).toBe("seeded");
    // %2F spelling a prefix's own slash reaches the same stored key, and nothing else.
    expect((await asCredential("GET", "builds%2F1%2F..%2Fsecret.txt")).status).toBe(200);
    await expectDenied(await asCredential("GET", "builds%2Fsecret.txt"));
    // Unicode: a scope for "café/" (precomposed) does not reach "cafe\u0301/" (decomposed).
    const cafe = { prefixes: ["café/"] };
    expect((await asCredential("PUT", "caf%C3%A9/x", cafe, { body: "nfc" })).status).toBe(200);
    await expectDenied(await asCredential("PUT", "cafe%CC%81/x", cafe, { body: "nfd" }));
    expect(await stored("cafe\u0301/x")).toBeNull();
  });

  it("copies only from and to keys within the scope", async () => {
    await seed("secret.txt", "top secret");
    await seed("builds/1/src.txt", "src");
    const copy = (target: string, source: string) =>
      asCredential("PUT", target, BUILD, {
        headers: { "x-amz-copy-source": `${BUCKET}/${source}` },
      });
    await expectDenied(await copy("builds/1/stolen.txt", "secret.txt"));
    expect(await stored("builds/1/stolen.txt")).toBeNull();
    await expectDenied(await copy("elsewhere.txt", "builds/1/src.txt"));
    expect(await stored("elsewhere.txt")).toBeNull();
    expect((await copy("builds/1/copy.txt", "builds/1/src.txt")).status).toBe(200);
    expect(await (await stored("builds/1/copy.txt"))?.text()).toBe("src");
    await expectDenied(
      await asCredential("PUT", "builds/1/part?partNumber=1&uploadId=u", BUILD, {
        headers: { "x-amz-copy-source": `${BUCKET}/secret.txt` },
      }),
    );
  });

  it("runs a multipart upload within the scope", async () => {
    const created = await asCredential("POST", "builds/1/big.bin?uploads");
    expect(created.status).toBe(200);
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(await created.text())?.[1] as string;
    const part = await asCredential(
      "PUT",
      `builds/1/big.bin?partNumber=1&uploadId=${encodeURIComponent(uploadId)}`,
      BUILD,
      { body: "only part" },
    );
    expect(part.status).toBe(200);
    const etag = part.headers.get("etag") as string;
    const done = await asCredential(
      "POST",
      `builds/1/big.bin?uploadId=${encodeURIComponent(uploadId)}`,
      BUILD,
      {
        body: `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${etag}</ETag></Part></CompleteMultipartUpload>`,
      },
    );
    expect(done.status).toBe(200);
    expect(await (await stored("builds/1/big.bin"))?.text()).toBe("only part");
  });

  it("deletes only the keys of a DeleteObjects within the scope; the others are AccessDenied", async () => {
    await seed("builds/1/x");
    await seed("secret.txt");
    const body =
      '<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>builds/1/x</Key></Object>' +
      "<Object><Key>secret.txt</Key></Object></Delete>";
    const md5 = btoa(
      String.fromCharCode(
        ...new Uint8Array(await crypto.subtle.digest("MD5", new TextEncoder().encode(body))),
      ),
    );
    const response = await send(
      headerSigned("POST", `/${BUCKET}?delete`, {
        body,
        scope: BUILD,
        headers: { "content-md5": md5 },
      }),
    );
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toContain("<Deleted><Key>builds/1/x</Key></Deleted>");
    expect(text).toContain("<Error><Key>secret.txt</Key><Code>AccessDenied</Code>");
    expect(await stored("builds/1/x")).toBeNull();
    expect(await stored("secret.txt")).not.toBeNull();
  });

  it("lists within a prefix only; an objects-only credential lists nothing", async () => {
    await seed("builds/1/l.txt");
    const inside = await asCredential("GET", "?list-type=2&prefix=builds%2F1%2F");
    expect(inside.status).toBe(200);
    expect(await inside.text()).toContain("<Key>builds/1/l.txt</Key>");
    await expectDenied(await asCredential("GET", "?list-type=2&prefix=builds%2F"));
    await expectDenied(await asCredential("GET", "?list-type=2"));
    await expectDenied(await asCredential("GET", "?prefix=other%2F"));
    await expectDenied(await asCredential("GET", "?uploads&prefix=other%2F"));
    expect((await asCredential("GET", "?uploads&prefix=builds%2F1%2F")).status).toBe(200);
    await expectDenied(
      await asCredential("GET", "?list-type=2&prefix=notes.txt", { objects: ["notes.txt"] }),
    );
    // Questions about the bucket itself reveal no object.
    expect((await asCredential("HEAD", "")).status).toBe(200);
    expect((await asCredential("GET", "?location")).status).toBe(200);
  });

  it("a key's own request (no token) is not scoped", async () => {
    await seed("secret.txt");
    expect((await send(headerSigned("GET", `/${BUCKET}/secret.txt`))).status).toBe(200);
  });
});
