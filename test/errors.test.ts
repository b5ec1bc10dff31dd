import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../src/app";
import type { Bindings } from "../src/env";
import { type ApiResponse, call, expectError, newUser, team, tokenFor } from "./support/api";
import { sessionsThrough } from "./support/sessions";

let admin: string;
let workspaceId: string;
let repoId: string;

beforeAll(async () => {
  ({ admin, workspaceId, repoId } = await team());
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** Every row of the tables these endpoints write, in a stable order. */
async function allRows() {
  const rows: Record<string, unknown[]> = {};
  for (const table of ["workspaces", "workspace_members", "repos"]) {
    rows[table] = (await env.DB.prepare(`SELECT * FROM ${table} ORDER BY rowid`).all()).results;
  }
  return rows;
}

/** Sends the request and asserts a JSON error with `status` that left every table as it was. */
async function expectRefusedWithoutWriting(
  send: () => Promise<ApiResponse>,
  status: number,
  message?: RegExp,
) {
  const before = await allRows();
  const response = await send();
  expectError(response, status, message);
  expect(await allRows()).toEqual(before);
  return response;
}

/** One request to a fresh app with the test bindings (changed by `overrides`), as workerd sends it. */
async function send(request: Request, overrides: Partial<Bindings> = {}): Promise<ApiResponse> {
  const ctx = createExecutionContext();
  const response = await createApp().fetch(request, { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  const text = await response.text();
  const body = response.headers.get("Content-Type")?.includes("application/json")
    ? JSON.parse(text)
    : null;
  return { status: response.status, headers: response.headers, body, text };
}

const createWorkspaceWith = (body: unknown, headers?: Record<string, string>) =>
  call("POST", "/workspace", { as: admin, body, headers });

describe("a request body that is not valid input", () => {
  const invalid: [string, string, unknown][] = [
    ["malformed JSON", "/workspace", '{"name": "unfinished'],
    ["an empty body", "/workspace", ""],
    ["an extra field", "/workspace", { name: "ok", id: "chosen-by-me" }],
    ["a missing field", "/workspace", {}],
    ["a name that is not a string", "/workspace", { name: 42 }],
    ["a JSON array", "/workspace", [{ name: "ok" }]],
    ["JSON null", "/workspace", null],
    ["a repo without its workspaceId", "/repo", { name: "ok" }],
    ["a workspaceId that is not a UUID", "/repo", { name: "ok", workspaceId: "ws-1" }],
    ["a workspaceId that is a number", "/repo", { name: "ok", workspaceId: 7 }],
  ];

  for (const [what, path, body] of invalid) {
    it(`is refused with 400 when it is ${what}`, async () => {
      const payload = typeof body === "string" ? body : JSON.stringify(body);
      await expectRefusedWithoutWriting(
        () => call("POST", path, { as: admin, body: payload }),
        400,
      );
    });
  }

  it("says what is wrong with malformed JSON", async () => {
    const response = await createWorkspaceWith('{"name": ');
    expectError(response, 400, /JSON/);
  });

  it("lists each field's problem in `issues`", async () => {
    const response = await call("POST", "/repo", {
      as: admin,
      body: { name: "", workspaceId: "nope", colour: "red" },
    });
    expectError(response, 400);
    expect(response.body.code).toBe("VALIDATION_FAILED");
    const paths = response.body.issues.map((issue: { path: string }) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(["name", "workspaceId"]));
    expect(response.body.issues.length).toBeGreaterThanOrEqual(3);
  });

  it("is refused with 400 when a role is not READ, WRITE or ADMIN", async () => {
    for (const role of ["OWNER", "admin", "", 3, null]) {
      await expectRefusedWithoutWriting(
        () =>
          call("POST", `/workspace/${workspaceId}/users`, {
            as: admin,
            body: { userId: newUser(), role },
          }),
        400,
      );
    }
    await expectRefusedWithoutWriting(
      () =>
        call("PUT", `/workspace/${workspaceId}/users/${admin}`, {
          as: admin,
          body: { role: "SUPERUSER" },
        }),
      400,
    );
  });

  it("is refused with 400 when a member's userId is not a string, empty or too long", async () => {
    for (const userId of [5, "", "u".repeat(256), "bad\nid"]) {
      await expectRefusedWithoutWriting(
        () =>
          call("POST", `/workspace/${workspaceId}/users`, {
            as: admin,
            body: { userId, role: "READ" },
          }),
        400,
      );
    }
  });

  it("is refused with 400 when a body is required but none is sent", async () => {
    await expectRefusedWithoutWriting(() => call("POST", "/workspace", { as: admin }), 400);
    await expectRefusedWithoutWriting(() => call("POST", "/repo", { as: admin }), 400);
    await expectRefusedWithoutWriting(
      () => call("POST", `/workspace/${workspaceId}/users`, { as: admin }),
      400,
    );
    await expectRefusedWithoutWriting(
      () => call("PUT", `/workspace/${workspaceId}/users/${admin}`, { as: admin }),
      400,
    );
  });
});

describe("a request body that is not JSON", () => {
  for (const type of [
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/xml",
  ]) {
    it(`is refused with 415 when sent as ${type}`, async () => {
      await expectRefusedWithoutWriting(
        () => createWorkspaceWith('{"name": "typed wrong"}', { "Content-Type": type }),
        415,
        /application\/json/,
      );
    });
  }

  it("is refused with 415 when it has no Content-Type at all", async () => {
    const request = new Request("https://flashgate.test/workspace", {
      method: "POST",
      headers: { Authorization: `Bearer ${await tokenFor(admin)}` },
      body: new TextEncoder().encode('{"name": "untyped"}'),
    });
    expect(request.headers.get("Content-Type")).toBeNull();
    await expectRefusedWithoutWriting(() => send(request), 415);
  });

  it("is accepted as application/json with a charset", async () => {
    const response = await createWorkspaceWith(
      { name: "charset" },
      { "Content-Type": "application/json; charset=utf-8" },
    );
    expect(response.status, response.text).toBe(200);
  });
});

describe("a request body over 64 KiB", () => {
  const padded = (bytes: number) => {
    const json = JSON.stringify({ name: "big", padding: "" });
    return json.replace('""', `"${"x".repeat(bytes - json.length)}"`);
  };

  it("is refused with 413 when its Content-Length says so", async () => {
    const body = padded(64 * 1024 + 1);
    expect(body.length).toBe(64 * 1024 + 1);
    const response = await expectRefusedWithoutWriting(() => createWorkspaceWith(body), 413);
    expect(response.body.message).toMatch(/64 KiB/);
  });

  it("is refused with 413 when it streams without a Content-Length", async () => {
    const chunk = new TextEncoder().encode("x".repeat(16 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0) controller.enqueue(new TextEncoder().encode('{"name": "'));
        if (sent >= 8) {
          controller.enqueue(new TextEncoder().encode('"}'));
          controller.close();
          return;
        }
        controller.enqueue(chunk);
        sent += 1;
      },
    });
    const request = new Request("https://flashgate.test/workspace", {
      method: "POST",
      headers: {
        Authorization: `Bearer ${await tokenFor(admin)}`,
        "Content-Type": "application/json",
      },
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(request.headers.get("Content-Length")).toBeNull();
    await expectRefusedWithoutWriting(() => send(request), 413);
  });

  it("is accepted when it streams without a Content-Length and stays under the limit", async () => {
    const encoded = new TextEncoder().encode(JSON.stringify({ name: "streamed" }));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoded.subarray(0, 5));
        controller.enqueue(encoded.subarray(5));
        controller.close();
      },
    });
    const request = new Request("https://flashgate.test/workspace", {
      method: "POST",
      headers: {
        Authorization: `Bearer ${await tokenFor(admin)}`,
        "Content-Type": "application/json",
      },
      body: stream,
      duplex: "half",
    } as RequestInit);
    const response = await send(request);
    expect(response.status, response.text).toBe(200);
    expect(response.body.name).toBe("streamed");
  });

  it("is not refused for size at exactly 64 KiB (it fails validation instead)", async () => {
    const body = padded(64 * 1024);
    expect(body.length).toBe(64 * 1024);
    const response = await createWorkspaceWith(body);
    expectError(response, 400, /padding/);
  });

  it("is not read for a caller without a valid token: 401, not 413", async () => {
    const response = await call("POST", "/workspace", {
      authorization: "Bearer not-even-a-token",
      body: padded(100 * 1024),
    });
    expectError(response, 401);
  });
});

describe("unknown routes", () => {
  const outsideTheApi: [string, string][] = [
    ["GET", "/nope"],
    ["GET", "/workspaces"],
    ["POST", "/health/deep"],
  ];

  for (const [method, path] of outsideTheApi) {
    it(`answer ${method} ${path} with a JSON 404, with or without a token`, async () => {
      for (const as of [undefined, admin]) {
        const response = await call(method, path, as === undefined ? {} : { as });
        expectError(response, 404);
        expect(response.body.code).toBe("NOT_FOUND");
      }
    });
  }

  it("answer a path inside the API with a JSON 404 to an authenticated caller (401 without a token)", async () => {
    const path = `/repo/${crypto.randomUUID()}/nothing-here`;
    const response = await call("GET", path, { as: admin });
    expectError(response, 404, /GET/);
    expect(response.body.code).toBe("NOT_FOUND");
    expectError(await call("GET", path), 401);
  });
});

describe("a method a known path does not have", () => {
  const repoId = crypto.randomUUID();
  const keyId = crypto.randomUUID();
  const wrong: [string, string, string][] = [
    ["DELETE", "/workspace", "POST, GET, HEAD, OPTIONS"],
    ["PATCH", `/repo/${repoId}`, "GET, HEAD, OPTIONS"],
    ["PATCH", `/repo/${repoId}/apikey`, "GET, HEAD, POST, OPTIONS"],
    ["POST", `/repo/${repoId}/apikey/${keyId}`, "PUT, DELETE, OPTIONS"],
    ["PATCH", `/repo/${repoId}/ai/apikey/${keyId}`, "PUT, DELETE, OPTIONS"],
    ["PUT", "/repo/not-even-a-uuid/audit", "GET, HEAD, OPTIONS"],
    ["POST", "/health", "GET, HEAD, OPTIONS"],
    ["DELETE", "/openapi.json", "GET, HEAD, OPTIONS"],
  ];

  for (const [method, path, allow] of wrong) {
    it(`${method} ${path.replace(/[0-9a-f-]{36}/g, "{id}")} answers 405 with Allow, with or without a token or a body`, async () => {
      const attempts = [
        await call(method, path),
        await call(method, path, { as: admin }),
        await call(method, path, { authorization: "Bearer not-a-token", body: "not json" }),
        await call(method, path, { as: admin, body: "", headers: { "Content-Length": "0" } }),
      ];
      for (const response of attempts) {
        expectError(response, 405, new RegExp(`does not support ${method}`));
        expect(response.body.code).toBe("METHOD_NOT_ALLOWED");
        expect(response.headers.get("Allow")).toBe(allow);
        expect(response.headers.get("WWW-Authenticate")).toBeNull();
      }
    });
  }

  it("OPTIONS answers 204 with Allow and no body", async () => {
    const response = await call("OPTIONS", `/repo/${repoId}/apikey`);
    expect(response.status).toBe(204);
    expect(response.headers.get("Allow")).toBe("GET, HEAD, POST, OPTIONS");
    expect(response.text).toBe("");
  });

  it("HEAD is answered where GET is, without a body", async () => {
    const response = await call("HEAD", "/health");
    expect(response.status).toBe(200);
    expect(response.text).toBe("");
    expect(response.headers.get("Allow")).toBeNull();
  });
});

describe("garbage ids in paths", () => {
  const garbage = ["not-a-uuid", "1", "' OR 1=1 --", "%00", "00000000-0000-0000-0000-00000000000g"];

  for (const id of garbage) {
    const encoded = encodeURIComponent(id);
    it(`are refused with 400 and write nothing: ${JSON.stringify(id)}`, async () => {
      const requests: [string, string, unknown?][] = [
        ["GET", `/repo/${encoded}`],
        ["GET", `/workspace/${encoded}/users`],
        ["POST", `/workspace/${encoded}/users`, { userId: newUser(), role: "READ" }],
        ["PUT", `/workspace/${encoded}/users/${admin}`, { role: "READ" }],
        ["DELETE", `/workspace/${encoded}/users/${admin}`],
      ];
      for (const [method, path, body] of requests) {
        await expectRefusedWithoutWriting(() => call(method, path, { as: admin, body }), 400);
      }
    });
  }

  it("refuse a member id with a control character or over 255 characters", async () => {
    for (const userId of ["%00", "a%0Ab", "u".repeat(256)]) {
      const path = `/workspace/${workspaceId}/users/${userId}`;
      await expectRefusedWithoutWriting(
        () => call("PUT", path, { as: admin, body: { role: "READ" } }),
        400,
      );
      await expectRefusedWithoutWriting(() => call("DELETE", path, { as: admin }), 400);
    }
  });
});

describe("names", () => {
  const refused: [string, string][] = [
    ["empty", ""],
    ["only whitespace", "  \u3000 "],
    ["129 characters", "n".repeat(129)],
    ["129 emoji", "🔑".repeat(129)],
    ["a NUL character", "bad\u0000name"],
    ["a newline", "two\nlines"],
    ["a tab", "tab\tbed"],
    ["a DEL character", "del\u007f"],
    ["a C1 control character", "next\u0085line"],
  ];

  for (const [what, name] of refused) {
    it(`are refused with 400 when ${what}, for workspaces and repos alike`, async () => {
      await expectRefusedWithoutWriting(() => createWorkspaceWith({ name }), 400, /name/);
      await expectRefusedWithoutWriting(
        () => call("POST", "/repo", { as: admin, body: { name, workspaceId } }),
        400,
        /name/,
      );
    });
  }

  const storedVerbatim: [string, string][] = [
    ["128 characters", "n".repeat(128)],
    ["128 emoji", "🔑".repeat(128)],
    ["quotes", `It's "quoted" \`text\``],
    ["SQL", "'; DROP TABLE repos; --"],
    ["markup", "<script>alert(1)</script>"],
    ["non-Latin text", "Ünïcödé 日本語 עברית"],
  ];

  for (const [what, name] of storedVerbatim) {
    it(`are stored verbatim and read back when they contain ${what}`, async () => {
      const workspace = await createWorkspaceWith({ name });
      expect(workspace.status, workspace.text).toBe(200);
      expect(workspace.body.name).toBe(name);
      const stored = await env.DB.prepare("SELECT name FROM workspaces WHERE id = ?")
        .bind(workspace.body.id)
        .first<{ name: string }>();
      expect(stored?.name).toBe(name);
      const listed = await call("GET", "/workspace", { as: admin });
      expect(listed.body.workspaces).toContainEqual(
        expect.objectContaining({ id: workspace.body.id, name }),
      );

      const repo = await call("POST", "/repo", {
        as: admin,
        body: { name, workspaceId: workspace.body.id },
      });
      expect(repo.status, repo.text).toBe(200);
      const read = await call("GET", `/repo/${repo.body.id}`, { as: admin });
      expect(read.body.repo.name).toBe(name);
    });
  }

  it("leave the repos table in place after an injection attempt", async () => {
    await call("POST", "/repo", {
      as: admin,
      body: { name: "x'); DROP TABLE repos; --", workspaceId },
    });
    const response = await call("GET", `/repo/${repoId}`, { as: admin });
    expect(response.status, response.text).toBe(200);
  });
});

describe("X-Request-Id", () => {
  it("is the service's own even when the caller sends one: the caller's is not echoed", async () => {
    const response = await call("GET", "/workspace", {
      as: admin,
      headers: { "X-Request-Id": "trace-abc_123" },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("X-Request-Id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("is generated when the caller sends none, and differs per request", async () => {
    const first = await call("GET", "/health");
    const second = await call("GET", "/health");
    expect(first.headers.get("X-Request-Id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(second.headers.get("X-Request-Id")).not.toBe(first.headers.get("X-Request-Id"));
  });

  it("is replaced when the caller's value is not a plain token", async () => {
    const response = await call("GET", "/health", {
      headers: { "X-Request-Id": "<script>alert(1)</script>" },
    });
    expect(response.headers.get("X-Request-Id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("appears in every error body, equal to the header, and is never the caller's", async () => {
    const failures = [
      await call("GET", "/workspace"),
      await call("GET", `/repo/${crypto.randomUUID()}`, { as: newUser() }),
      await call("GET", "/nope"),
      await createWorkspaceWith("{"),
      await createWorkspaceWith("{}", { "Content-Type": "text/plain" }),
      await call("POST", `/workspace/${workspaceId}/users`, {
        as: admin,
        body: { userId: admin, role: "READ" },
      }),
      await call("GET", "/workspace", { headers: { "X-Request-Id": "client-chosen-id" } }),
    ];
    expect(failures.map((r) => r.status)).toEqual([401, 403, 404, 400, 415, 409, 401]);
    for (const response of failures) {
      expect(response.body.requestId).toBeTruthy();
      expect(response.body.requestId).toBe(response.headers.get("X-Request-Id"));
      expect(response.body.requestId).toMatch(/^[0-9a-f-]{36}$/);
    }
  });
});

describe("an unexpected failure", () => {
  /** The real D1, except that every statement fails the way a broken database would. */
  const brokenDb = sessionsThrough(
    new Proxy(env.DB, {
      get(target, property) {
        if (property === "prepare" || property === "batch") {
          return () => {
            throw new Error("D1_ERROR: no such table: workspace_members: SQLITE_ERROR");
          };
        }
        const value = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    }),
  );

  it("is a JSON 500 with a generic message: no stack trace, no SQL", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const request = new Request("https://flashgate.test/workspace", {
      headers: { Authorization: `Bearer ${await tokenFor(admin)}`, "X-Request-Id": "boom-1" },
    });
    const response = await send(request, { DB: brokenDb });
    expectError(response, 500);
    const requestId = response.headers.get("X-Request-Id") as string;
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.body).toEqual({
      success: false,
      message: expect.any(String),
      code: "INTERNAL",
      requestId,
    });
    expect(response.text).not.toMatch(/D1_ERROR|SQLITE|workspace_members|\bat\s|\.ts:\d/);
    // The reason goes to the logs instead, with the service's request id to find it by.
    const log = logged.mock.calls.map((args) => args.join(" ")).join("\n");
    expect(log).toContain(requestId);
    expect(log).toMatch(/no such table/);
  });
});

describe("error responses", () => {
  it("are never HTML, whatever the caller accepts", async () => {
    const responses = [
      await call("GET", "/nope", { headers: { Accept: "text/html" } }),
      await call("GET", "/workspace", { headers: { Accept: "text/html" } }),
      await call("GET", "/repo/nope", { as: admin, headers: { Accept: "text/html" } }),
    ];
    for (const response of responses) {
      expect(response.headers.get("Content-Type")).toMatch(/^application\/json/);
      expect(response.text).not.toMatch(/<html|<!doctype/i);
    }
  });
});
