import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { Bindings } from "../../src/env";
import { KeyVerifier } from "../../src/verify/entrypoint";
import { type ApiResponse, call, expectError, team } from "../support/api";
import { allKeyRows, callWith, createAiKey, createStorageKey, unknownId } from "../support/keys";
import { gatewayToken, signedS3Request } from "../verify/support";

const HEADER = "X-D1-Bookmark";
// What D1 writes, locally and deployed: 8-8-8-32 lower-case hex digits.
const D1_BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/;

/**
 * The real D1 binding, recording where each session starts (`withSession`'s argument) and
 * counting statements prepared or batched on the binding itself, outside any session.
 */
function recordedDb() {
  const starts: unknown[] = [];
  let outsideSessions = 0;
  const DB = new Proxy(env.DB, {
    get(target, property) {
      if (property === "withSession") {
        return (start: string) => {
          starts.push(start);
          return target.withSession(start);
        };
      }
      if (property === "prepare" || property === "batch") outsideSessions += 1;
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { DB, starts, outsideSessions: () => outsideSessions };
}

interface Sent {
  as?: string;
  authorization?: string;
  body?: unknown;
  bookmark?: string;
  headers?: Record<string, string>;
}

/** One request to a fresh app on `bindings`, a bookmark sent in X-D1-Bookmark. */
function send(
  bindings: Partial<Bindings>,
  method: string,
  path: string,
  { bookmark, headers, ...rest }: Sent = {},
): Promise<ApiResponse> {
  return callWith(bindings, method, path, {
    ...rest,
    headers: { ...headers, ...(bookmark === undefined ? {} : { [HEADER]: bookmark }) },
  });
}

/** `send` with a recording DB: the answer, and where its sessions started. */
async function recorded(method: string, path: string, sent: Sent = {}) {
  const db = recordedDb();
  const response = await send({ ...(env as Bindings), DB: db.DB }, method, path, sent);
  return { response, starts: db.starts, outsideSessions: db.outsideSessions() };
}

const bookmarkOf = (response: ApiResponse) => response.headers.get(HEADER);

let world: Awaited<ReturnType<typeof team>>;
/** A bookmark the API itself answered, after a write. */
let written: string;

beforeAll(async () => {
  world = await team();
  const created = await call("POST", `/repo/${world.repoId}/apikey`, {
    as: world.admin,
    body: { name: "seed", accessType: "READ" },
  });
  expect(created.status, created.text).toBe(200);
  written = bookmarkOf(created) as string;
});

describe("where a request's D1 session starts", () => {
  it("a GET without a bookmark: on any replica (first-unconstrained), every query in the session", async () => {
    const { admin, repoId, workspaceId } = world;
    for (const path of [`/repo/${repoId}/apikey`, `/repo/${repoId}`, "/workspace"]) {
      const { response, starts, outsideSessions } = await recorded("GET", path, { as: admin });
      expect(response.status, response.text).toBe(200);
      expect(starts, path).toEqual(["first-unconstrained"]);
      expect(outsideSessions, `${path}: queries outside the session`).toBe(0);
      expect(bookmarkOf(response), path).toMatch(D1_BOOKMARK);
    }
    const audit = await recorded("GET", `/workspace/${workspaceId}/audit`, { as: admin });
    expect(audit.response.status, audit.response.text).toBe(200);
    expect(audit.starts).toEqual(["first-unconstrained"]);
  });

  it("a GET with a bookmark: at that bookmark", async () => {
    const { response, starts } = await recorded("GET", `/repo/${world.repoId}/apikey`, {
      as: world.admin,
      bookmark: written,
    });
    expect(response.status, response.text).toBe(200);
    expect(starts).toEqual([written]);
  });

  it("an empty X-D1-Bookmark is no bookmark", async () => {
    const { response, starts } = await recorded("GET", "/workspace", {
      as: world.admin,
      headers: { [HEADER]: "" },
    });
    expect(response.status, response.text).toBe(200);
    expect(starts).toEqual(["first-unconstrained"]);
  });

  it("POST, PUT and DELETE: on the primary (first-primary), a bookmark sent or not", async () => {
    const { admin, repoId } = world;
    const key = await createStorageKey(admin, repoId);
    const writes: [string, string, unknown][] = [
      ["POST", `/repo/${repoId}/apikey`, { name: "written", accessType: "READ" }],
      ["PUT", `/repo/${repoId}/apikey/${key.id}`, { name: "renamed" }],
      ["POST", `/repo/${repoId}/apikey/${key.id}/roll`, {}],
      ["DELETE", `/repo/${repoId}/apikey/${key.id}`, undefined],
      ["POST", "/workspace", { name: "Another" }],
    ];
    for (const [i, [method, path, body]] of writes.entries()) {
      const bookmark = i % 2 === 0 ? written : undefined;
      const { response, starts, outsideSessions } = await recorded(method, path, {
        as: admin,
        body,
        bookmark,
      });
      expect(response.status, `${method} ${path}: ${response.text}`).toBe(200);
      expect(starts, `${method} ${path}`).toEqual(["first-primary"]);
      expect(outsideSessions, `${method} ${path}: queries outside the session`).toBe(0);
      // The session's own position: at least as fresh as what the client had.
      const answered = bookmarkOf(response) as string;
      expect(answered, `${method} ${path}`).toMatch(D1_BOOKMARK);
      expect(answered > written, `${method} ${path}: ${answered} after ${written}`).toBe(true);
    }
  });

  it("verification over HTTP (S3 and AI): on any replica", async () => {
    const { admin, repoId } = world;
    const storage = await createStorageKey(admin, repoId);
    const ai = await createAiKey(admin, repoId);
    const authorization = `Bearer ${await gatewayToken()}`;
    const s3 = await recorded("POST", "/verify/s3", {
      authorization,
      body: await signedS3Request(storage, { path: `/${repoId}/a.txt` }),
    });
    expect(s3.response.body, s3.response.text).toMatchObject({ valid: true });
    expect(s3.starts).toEqual(["first-unconstrained"]);
    expect(bookmarkOf(s3.response)).toMatch(D1_BOOKMARK);

    const aiAnswer = await recorded("POST", "/verify/ai", {
      authorization,
      body: { secret: ai.secret },
    });
    expect(aiAnswer.response.body, aiAnswer.response.text).toMatchObject({ valid: true });
    expect(aiAnswer.starts).toEqual(["first-unconstrained"]);
  });

  it("verification over RPC (KeyVerifier): on any replica, nothing read outside the session", async () => {
    const { admin, repoId } = world;
    const storage = await createStorageKey(admin, repoId);
    const ai = await createAiKey(admin, repoId);
    const db = recordedDb();
    const ctx = createExecutionContext();
    const verifier = new KeyVerifier(ctx, { ...(env as Bindings), DB: db.DB });
    const s3 = await verifier.verifyS3Request(
      await signedS3Request(storage, { path: `/${repoId}/b.txt` }),
    );
    expect(s3).toMatchObject({ valid: true });
    expect(await verifier.verifyAiSecret({ secret: ai.secret })).toMatchObject({ valid: true });
    await waitOnExecutionContext(ctx);
    expect(db.starts).toEqual(["first-unconstrained", "first-unconstrained"]);
    expect(db.outsideSessions()).toBe(0);
  });

  it("never changes the env the isolate shares: each request gets its own copy", async () => {
    const shared = { ...(env as Bindings) };
    const binding = shared.DB;
    const response = await send(shared, "POST", `/repo/${world.repoId}/apikey`, {
      as: world.admin,
      body: { name: "shared env", accessType: "READ" },
    });
    expect(response.status, response.text).toBe(200);
    expect(shared.DB).toBe(binding);
  });
});

// The position rises with every tenant's writes: only an answer that read or wrote what the
// caller may see (a success) hands it out.
describe("the X-D1-Bookmark answer", () => {
  it("is on successes, a read's and a write's", async () => {
    const { admin, repoId } = world;
    const read = await recorded("GET", `/repo/${repoId}/apikey`, { as: admin });
    expect(read.response.status, read.response.text).toBe(200);
    expect(bookmarkOf(read.response)).toMatch(D1_BOOKMARK);
    const write = await recorded("POST", `/repo/${repoId}/apikey`, {
      as: admin,
      body: { name: "answered", accessType: "READ" },
    });
    expect(write.response.status, write.response.text).toBe(200);
    expect(bookmarkOf(write.response)).toMatch(D1_BOOKMARK);
  });

  it("is not on refusals after the operation started: 403 and 404 (a read's and a write's), 409", async () => {
    const { admin, outsider, repoId, workspaceId } = world;
    const forbidden = await recorded("GET", `/repo/${repoId}/apikey`, { as: outsider });
    expectError(forbidden.response, 403);
    expect(forbidden.starts).toEqual(["first-unconstrained"]);
    expect(bookmarkOf(forbidden.response)).toBeNull();

    const missing = await recorded("PUT", `/repo/${repoId}/apikey/${unknownId()}`, {
      as: admin,
      body: { name: "nobody" },
    });
    expectError(missing.response, 404);
    expect(missing.starts).toEqual(["first-primary"]);
    expect(bookmarkOf(missing.response)).toBeNull();

    // The only ADMIN cannot leave: the write ran and changed nothing.
    const lastAdmin = await recorded(
      "DELETE",
      `/workspace/${workspaceId}/users/${encodeURIComponent(admin)}`,
      { as: admin },
    );
    expectError(lastAdmin.response, 409);
    expect(bookmarkOf(lastAdmin.response)).toBeNull();
  });

  it("is not on a read refused as invalid, not even the bookmark the client sent", async () => {
    const { response, starts } = await recorded("GET", `/repo/${world.repoId}/apikey?limit=0`, {
      as: world.admin,
      bookmark: written,
    });
    expectError(response, 400);
    expect(starts).toEqual([written]);
    expect(bookmarkOf(response)).toBeNull();
  });

  it("is absent when authentication refused the request: no session was opened", async () => {
    const { response, starts } = await recorded("GET", "/workspace", { bookmark: written });
    expectError(response, 401);
    expect(starts).toEqual([]);
    expect(bookmarkOf(response)).toBeNull();
  });
});

describe("read-your-writes with the bookmark", () => {
  it("a write's bookmark, sent with the next read, is accepted and the read sees the write", async () => {
    const { admin, repoId } = world;
    const created = await call("POST", `/repo/${repoId}/apikey`, {
      as: admin,
      body: { name: "fresh", accessType: "WRITE" },
    });
    expect(created.status, created.text).toBe(200);
    const bookmark = bookmarkOf(created) as string;
    expect(bookmark).toMatch(D1_BOOKMARK);

    const listed = await call("GET", `/repo/${repoId}/apikey`, {
      as: admin,
      headers: { [HEADER]: bookmark },
    });
    expect(listed.status, listed.text).toBe(200);
    expect(listed.body.keys.map((k: { id: string }) => k.id)).toContain(created.body.id);
    expect((bookmarkOf(listed) as string) >= bookmark).toBe(true);
  });
});

describe("a malformed X-D1-Bookmark", () => {
  const MALFORMED = [
    "garbage",
    "first-primary",
    "first-unconstrained",
    "00000000-00000007-00000000-0000000000000000000000000000000G",
    // D1's hex is lower case; bookmarks sort as strings, so case matters.
    "0000000A-0000000B-00000000-0000000000000000000000000000ABCD",
    "00000000--00000007",
    "-00000000",
    "00000000-",
    "0000 0000",
    "0".repeat(129),
  ];

  it("is a 400 in the API's error envelope, and nothing is written", async () => {
    const { admin, repoId } = world;
    const before = await allKeyRows("storage_keys");
    for (const bookmark of MALFORMED) {
      const { response, starts } = await recorded("POST", `/repo/${repoId}/apikey`, {
        as: admin,
        body: { name: "never", accessType: "READ" },
        bookmark,
      });
      expectError(response, 400, /X-D1-Bookmark/);
      expect(response.body.code, bookmark).toBe("BAD_REQUEST");
      expect(response.body.requestId).toBe(response.headers.get("X-Request-Id"));
      expect(starts, bookmark).toEqual([]);
    }
    expect(await allKeyRows("storage_keys")).toEqual(before);
  });

  it("is a 400 on a read and a verification too, never a 500", async () => {
    const authorization = `Bearer ${await gatewayToken()}`;
    for (const bookmark of MALFORMED) {
      expectError(
        await call("GET", "/workspace", { as: world.admin, headers: { [HEADER]: bookmark } }),
        400,
      );
      expectError(
        await call("POST", "/verify/ai", {
          authorization,
          body: { secret: "fbai_sk_x" },
          headers: { [HEADER]: bookmark },
        }),
        400,
      );
    }
  });

  it("at the longest accepted length (128) is still a bookmark", async () => {
    const longest = `${"0".repeat(63)}-${"0".repeat(64)}`;
    const { response, starts } = await recorded("GET", "/workspace", {
      as: world.admin,
      bookmark: longest,
    });
    expect(response.status, response.text).toBe(200);
    expect(starts).toEqual([longest]);
  });
});

describe("CORS", () => {
  const ORIGIN = "https://app.example.com";
  const cors = { ...(env as Bindings), CORS_ORIGINS: ORIGIN };

  it("lets a browser send X-D1-Bookmark and read it back", async () => {
    const preflight = await send(cors, "OPTIONS", "/workspace", {
      headers: {
        Origin: ORIGIN,
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization,x-d1-bookmark",
      },
    });
    expect(preflight.status).toBe(204);
    const allowed = preflight.headers.get("Access-Control-Allow-Headers") ?? "";
    expect(allowed.toLowerCase().split(",")).toContain("x-d1-bookmark");

    const answer = await send(cors, "GET", "/workspace", {
      as: world.admin,
      bookmark: written,
      headers: { Origin: ORIGIN },
    });
    expect(answer.status, answer.text).toBe(200);
    const exposed = answer.headers.get("Access-Control-Expose-Headers") ?? "";
    expect(exposed.toLowerCase().split(",")).toContain("x-d1-bookmark");
    expect(bookmarkOf(answer)).toMatch(D1_BOOKMARK);
  });
});
