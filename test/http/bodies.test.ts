import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { call, expectError, newUser, team, tokenFor } from "../support/api";
import { createAiKey, createStorageKey, keyRow } from "../support/keys";

let admin: string;
let workspaceId: string;
let repoId: string;

beforeAll(async () => {
  ({ admin, workspaceId, repoId } = await team());
});

const worker = (exports as unknown as { default: Fetcher }).default;

/** A request exactly as built here: no header added, no body turned into JSON. */
async function raw(method: string, path: string, init: { headers?: HeadersInit; body?: BodyInit }) {
  const headers = new Headers(init.headers);
  headers.set("Authorization", `Bearer ${await tokenFor(admin)}`);
  const response = await worker.fetch(`https://flashgate.test${path}`, {
    method,
    headers,
    body: init.body,
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: JSON.parse(text) };
}

/** An empty body that is really there: a stream of no bytes, as wrangler's proxy hands it on. */
const emptyStream = () =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      controller.close();
    },
  });

describe("an operation without a body", () => {
  // wrangler dev's proxy and Python's requests send DELETE with Content-Length: 0; straight into
  // workerd such a request has a non-null, empty body.
  const emptyBodies: [string, () => { headers?: HeadersInit; body?: BodyInit }][] = [
    [
      "Content-Length: 0 and an empty body",
      () => ({ headers: { "Content-Length": "0" }, body: "" }),
    ],
    ["an empty stream and no Content-Type", () => ({ body: emptyStream() })],
    [
      "an empty body typed text/plain",
      () => ({ headers: { "Content-Type": "text/plain" }, body: "" }),
    ],
  ];

  for (const [what, init] of emptyBodies) {
    it(`deletes a storage key sent with ${what}`, async () => {
      const { id } = await createStorageKey(admin, repoId);
      const response = await raw("DELETE", `/repo/${repoId}/apikey/${id}`, init());
      expect(response.status, response.text).toBe(200);
      expect(response.body).toEqual({ success: true, message: "API key deleted" });
      expect((await keyRow("storage_keys", id))?.deleted_at).not.toBeNull();
    });

    it(`deletes an AI key sent with ${what}`, async () => {
      const { id } = await createAiKey(admin, repoId);
      const response = await raw("DELETE", `/repo/${repoId}/ai/apikey/${id}`, init());
      expect(response.status, response.text).toBe(200);
      expect((await keyRow("ai_keys", id))?.deleted_at).not.toBeNull();
    });

    it(`removes a workspace member sent with ${what}`, async () => {
      const member = newUser("leaving");
      await call("POST", `/workspace/${workspaceId}/users`, {
        as: admin,
        body: { userId: member, role: "READ" },
      });
      const response = await raw("DELETE", `/workspace/${workspaceId}/users/${member}`, init());
      expect(response.status, response.text).toBe(200);
      const users = await call("GET", `/workspace/${workspaceId}/users`, { as: admin });
      expect(users.body.users.map((u: { userId: string }) => u.userId)).not.toContain(member);
    });

    it(`lists keys sent with ${what}`, async () => {
      const response = await raw("GET", `/repo/${repoId}/apikey`, {
        headers: { "Content-Length": "0" },
      });
      expect(response.status, response.text).toBe(200);
    });
  }

  it("ignores a body that is sent anyway, whatever its type", async () => {
    const { id } = await createStorageKey(admin, repoId);
    const response = await raw("DELETE", `/repo/${repoId}/apikey/${id}`, {
      headers: { "Content-Type": "text/plain" },
      body: "please delete",
    });
    expect(response.status, response.text).toBe(200);
    expect((await keyRow("storage_keys", id))?.deleted_at).not.toBeNull();
  });
});

describe("an operation that takes a body", () => {
  it("refuses a missing body with 400 'is required', whatever the headers say", async () => {
    const inits: { headers?: HeadersInit; body?: BodyInit }[] = [
      {},
      { headers: { "Content-Length": "0" }, body: "" },
      { headers: { "Content-Type": "application/json" }, body: emptyStream() },
    ];
    for (const init of inits) {
      const response = await raw("POST", "/workspace", init);
      expectError(response, 400, /body: is required/);
      expect(response.body.issues).toEqual([{ path: "body", message: "is required" }]);
    }
  });

  it("reads a chunked body (a stream, no Content-Length)", async () => {
    const bytes = new TextEncoder().encode(JSON.stringify({ name: "chunked" }));
    const response = await raw("POST", "/workspace", {
      headers: { "Content-Type": "application/json" },
      body: new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(bytes.subarray(0, 3));
          controller.enqueue(bytes.subarray(3));
          controller.close();
        },
      }),
    });
    expect(response.status, response.text).toBe(200);
    expect(response.body.name).toBe("chunked");
  });

  for (const type of [
    "application/json; charset=utf-8",
    "application/json;charset=UTF-8",
    'application/json; charset="utf-8"',
    "Application/JSON",
    "application/merge-patch+json",
  ]) {
    it(`accepts Content-Type: ${type}`, async () => {
      const response = await raw("POST", "/workspace", {
        headers: { "Content-Type": type },
        body: JSON.stringify({ name: "typed" }),
      });
      expect(response.status, response.text).toBe(200);
    });
  }

  for (const type of ["application/json; charset=iso-8859-1", "application/json; charset=utf-16"]) {
    it(`refuses Content-Type: ${type} with 415, since it would be read as UTF-8`, async () => {
      const response = await raw("POST", "/workspace", {
        headers: { "Content-Type": type },
        body: JSON.stringify({ name: "latin" }),
      });
      expectError(response, 415, /UTF-8/);
      expect(response.body.code).toBe("UNSUPPORTED_MEDIA_TYPE");
    });
  }

  it("refuses bytes that are not UTF-8 with 400", async () => {
    const response = await raw("POST", "/workspace", {
      headers: { "Content-Type": "application/json" },
      body: new Uint8Array([
        0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xe9, 0x22, 0x7d,
      ]),
    });
    expectError(response, 400, /not valid JSON/);
  });
});

describe("validation messages", () => {
  it("say a missing field is required", async () => {
    const response = await call("POST", `/repo/${repoId}/apikey`, { as: admin, body: {} });
    expectError(response, 400, "Invalid request body. name: is required (and 1 more)");
    expect(response.body.issues).toEqual([
      { path: "name", message: "is required" },
      { path: "accessType", message: "is required" },
    ]);
  });

  it("say a missing query or body id is required, not that it is malformed", async () => {
    const response = await call("POST", "/repo", { as: admin, body: { name: "x" } });
    expectError(response, 400, "Invalid request body. workspaceId: is required");
  });

  it("point a raw-HTTP caller who sends the client's alias `access` to `accessType`", async () => {
    const response = await call("POST", `/repo/${repoId}/apikey`, {
      as: admin,
      body: { name: "CI Bot", access: "READ" },
    });
    expectError(
      response,
      400,
      'Invalid request body. body: unknown field "access"; did you mean "accessType"? (and 1 more)',
    );
    const update = await call("PUT", `/repo/${repoId}/apikey/${crypto.randomUUID()}`, {
      as: admin,
      body: { name: "CI Bot", access: "READ" },
    });
    expectError(update, 400, /unknown field "access"; did you mean "accessType"\?/);
  });

  it("name the expected fields for an unknown one nothing resembles", async () => {
    const response = await call("POST", "/workspace", {
      as: admin,
      body: { name: "x", colour: 1 },
    });
    expectError(
      response,
      400,
      'Invalid request body. body: unknown field "colour" (expected "name")',
    );
  });
});
