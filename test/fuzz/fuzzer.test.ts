import { exports } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Answer, answerProblems } from "./answers";
import { type RequestPlan, requestFor } from "./arbitraries";
import { documentedOperations } from "./documented-operations";
import { fieldProblems, isItem, readsBackAs } from "./round-trip";
import { percentEncode, World } from "./world";

// The fuzzer's own checks: each property must be able to fail, and the generator must reach
// the hostile cases it is meant to send.

const worker = (exports as unknown as { default: Fetcher }).default;
const document = await (await worker.fetch("https://flashgate.test/openapi.json")).json();
const operations = documentedOperations(document as Record<string, unknown>);
const operation = (id: string) => {
  const found = operations.find((o) => o.id === id);
  if (!found) throw new Error(`${id} is not documented`);
  return found;
};

const REQUEST_ID = "0f8e2c4a-5b7d-4e1f-9a3c-6d2b8e4f1a7c";

/** A hand-made answer. */
function answer(status: number, text: string, headers: Record<string, string> = {}): Answer {
  const all: Record<string, string> = {
    "x-request-id": REQUEST_ID,
    "content-type": "application/json",
    ...Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
  };
  return { status, text, header: (name) => all[name.toLowerCase()] ?? null };
}

const envelope = (fields: Record<string, unknown> = {}) =>
  JSON.stringify({
    success: false,
    message: "Insufficient permissions",
    code: "FORBIDDEN",
    requestId: REQUEST_ID,
    ...fields,
  });

describe("the answer checks", () => {
  const createRepo = operation("POST /repo");

  it("pass the answers the API promises", () => {
    expect(answerProblems("POST", createRepo, answer(403, envelope()))).toEqual([]);
    expect(answerProblems("POST", createRepo, answer(200, '{"success":true}'))).toEqual([]);
    expect(answerProblems("OPTIONS", createRepo, answer(204, ""))).toEqual([]);
    expect(answerProblems("HEAD", createRepo, answer(404, ""))).toEqual([]);
    // An operation documented with another media type is held to that one.
    const page = { ...operation("GET /health"), successes: { 200: ["text/html"] } };
    const html = answer(200, "<!doctype html>", { "Content-Type": "text/html; charset=UTF-8" });
    expect(answerProblems("GET", page, html)).toEqual([]);
  });

  it("catch a 5xx, an HTML error, a broken envelope and a missing request id", () => {
    const cases: [Answer, RegExp][] = [
      [answer(500, envelope({ code: "INTERNAL" })), /server error/],
      [answer(502, "Bad Gateway", { "Content-Type": "text/plain" }), /server error/],
      [answer(404, "<h1>Not Found</h1>", { "Content-Type": "text/html" }), /error answered as/],
      [answer(400, "not json"), /not a JSON object/],
      [answer(400, envelope({ success: true })), /success:false/],
      [answer(400, envelope({ message: "" })), /without a message/],
      [answer(400, envelope({ code: undefined })), /without a code/],
      [answer(400, envelope({ requestId: undefined })), /without a requestId/],
      [answer(400, envelope({ requestId: "another" })), /is not X-Request-Id/],
      [answer(400, envelope(), { "X-Request-Id": "" }), /no X-Request-Id/],
      [answer(200, '{"success":true}', { "Content-Type": "text/html" }), /answered as text\/html/],
      [answer(200, "{", {}), /not JSON/],
      [answer(204, "x"), /a body on a 204/],
      [answer(302, "", { Location: "/" }), /unexpected status 302/],
    ];
    for (const [bad, problem] of cases) {
      expect(answerProblems("POST", createRepo, bad).join("; "), bad.text).toMatch(problem);
    }
  });
});

describe("the round-trip checks", () => {
  const schema = operation("PUT /repo/{repoId}/apikey/{apikeyId}").body?.schema ?? {};

  it("read a value back as the API normalizes it", () => {
    expect(readsBackAs("  CI Bot ", { type: "string" }, "CI Bot")).toBe(true);
    expect(
      readsBackAs(
        "ABCDEF00-0000-4000-8000-000000000000",
        { format: "uuid" },
        "abcdef00-0000-4000-8000-000000000000",
      ),
    ).toBe(true);
    const expiry = { anyOf: [{ type: "string", format: "date-time" }, { type: "null" }] };
    expect(readsBackAs("2030-01-01T02:00:00+02:00", expiry, "2030-01-01T00:00:00.000Z")).toBe(true);
    expect(readsBackAs(null, expiry, null)).toBe(true);
  });

  it("catch a field that does not read back as sent", () => {
    const sent = { name: "CI", accessType: "WRITE", expiresAt: null };
    expect(
      fieldProblems(sent, schema, { name: "CI", accessType: "WRITE", expiresAt: null }),
    ).toEqual([]);
    expect(
      fieldProblems(sent, schema, { name: "CI ", accessType: "WRITE", expiresAt: null }),
    ).toEqual(['name: sent "CI", read back "CI "']);
    expect(fieldProblems({ name: "\ud800" }, schema, { name: "\ufffd" })).toEqual([
      'name: sent "\\ud800", read back "\\ufffd"',
    ]);
    expect(
      fieldProblems(sent, schema, {
        name: "CI",
        accessType: "READ",
        expiresAt: "2030-01-01T00:00:00.000Z",
      }),
    ).toHaveLength(2);
  });

  it("find an item by id or by its own identifier, exactly", () => {
    const uuid = { format: "uuid" };
    expect(isItem({ id: "abc-1" }, "ABC-1", "apikeyId", uuid)).toBe(true);
    expect(isItem({ userId: "bob" }, "bob", "userId", {})).toBe(true);
    expect(isItem({ userId: " bob" }, "bob", "userId", {})).toBe(false);
  });
});

describe("the generator", () => {
  /** Many requests for `id`, made concrete by a world that knows one id of each kind. */
  async function sampled(id: string, count = 1500) {
    const world = new World(operations, async () => "Bearer token");
    for (const name of ["workspaceId", "repoId", "apikeyId", "userId"]) {
      world.remember(name, "/", "11111111-1111-4111-8111-111111111111");
    }
    const plans: RequestPlan[] = fc.sample(requestFor(operation(id), operations), {
      numRuns: count,
      seed: 42,
    });
    const sent = await Promise.all(plans.map((plan) => world.materialize(plan)));
    const bodies = sent.map((s) => (s.body ? new TextDecoder().decode(s.body) : ""));
    return { plans, sent, bodies };
  }

  it("sends the hostile cases it is meant to, among mostly valid requests", async () => {
    const { plans, sent, bodies } = await sampled("POST /repo/{repoId}/apikey");
    const some = (predicate: (i: number) => boolean) => plans.some((_, i) => predicate(i));
    const share = (predicate: (i: number) => boolean) =>
      plans.filter((_, i) => predicate(i)).length / plans.length;

    expect(some((i) => /\\ud800/.test(bodies[i] ?? ""))).toBe(true);
    expect(some((i) => /%ED%A0%80/.test(sent[i]?.target ?? ""))).toBe(true);
    for (const key of ["__proto__", "constructor", "prototype"]) {
      expect(
        some((i) => (bodies[i] ?? "").includes(`"${key}":`)),
        key,
      ).toBe(true);
    }
    for (const text of ["' OR 1=1 --", "DROP TABLE repos", "\u200b", "\u202e", "\u2066"]) {
      expect(
        some((i) => (bodies[i] ?? "").includes(text)),
        text,
      ).toBe(true);
    }
    expect(some((i) => (bodies[i]?.length ?? 0) > 64 * 1024)).toBe(true);
    for (const method of ["PATCH", "TRACE", "PROPFIND", "post"]) {
      expect(
        some((i) => sent[i]?.method === method),
        method,
      ).toBe(true);
    }
    const contentType = (i: number) =>
      sent[i]?.headers.find(([name]) => name === "Content-Type")?.[1];
    for (const type of [
      "text/plain",
      "multipart/form-data; boundary=fuzz",
      "application/json; charset=latin1",
    ]) {
      expect(
        some((i) => contentType(i) === type),
        type,
      ).toBe(true);
    }
    expect(some((i) => sent[i]?.body !== undefined && contentType(i) === undefined)).toBe(true);
    // Mostly requests that can get through: the operation's method, a JSON body, a real repo.
    const plain = (i: number) =>
      sent[i]?.method === "POST" &&
      contentType(i) === "application/json" &&
      plans[i]?.caller === "principal" &&
      sent[i]?.target.startsWith("/repo/11111111-1111-4111-8111-111111111111/apikey");
    expect(share(plain)).toBeGreaterThan(0.35);
  });

  it("percent-encodes lone surrogates as the bytes a client would send", () => {
    expect(percentEncode("\ud800")).toBe("%ED%A0%80");
    expect(percentEncode("a b/é😀")).toBe("a%20b%2F%C3%A9%F0%9F%98%80");
  });
});
