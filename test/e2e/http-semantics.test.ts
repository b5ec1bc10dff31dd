import { beforeAll, describe, expect, it } from "vitest";
import { baseUrl, curl, newUser, rawRequest, tokenFor } from "./support/http";

let token: string;
let repoId: string;

beforeAll(async () => {
  token = await tokenFor(newUser("semantics"));
  const headers = { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
  const post = async (path: string, body: unknown) =>
    (
      await fetch(`${baseUrl}${path}`, { method: "POST", headers, body: JSON.stringify(body) })
    ).json();
  const ws = await post("/workspace", { name: "HTTP" });
  repoId = (await post("/repo", { name: "r", workspaceId: ws.id })).id;
});

describe("methods, over real HTTP", () => {
  it("a wrong method on a known path is 405 with Allow and the JSON envelope, token or not", async () => {
    for (const auth of [[], ["-H", `Authorization: Bearer ${token}`]]) {
      const response = await curl(`/repo/${repoId}/apikey`, ["-X", "PATCH", ...auth]);
      expect(response.status).toBe(405);
      expect(response.headers.allow).toBe("GET, HEAD, POST, OPTIONS");
      expect(response.body).toMatchObject({ success: false, code: "METHOD_NOT_ALLOWED" });
      expect(response.body.message).toMatch(/does not support PATCH/);
    }
  });

  it("OPTIONS answers 204 with Allow; HEAD answers like GET without a body", async () => {
    const options = await curl("/health", ["-X", "OPTIONS"]);
    expect(options.status).toBe(204);
    expect(options.headers.allow).toBe("GET, HEAD, OPTIONS");
    const head = await rawRequest("HEAD", "/health", []);
    expect(head.status).toBe(200);
    expect(head.text).toBe("");
  });

  it("an unknown path is a JSON 404", async () => {
    const response = await curl("/nothing/here", []);
    expect(response.status).toBe(404);
    expect(response.body).toMatchObject({ success: false, code: "NOT_FOUND" });
  });
});

describe("bodies, over real HTTP", () => {
  const auth: [string, string] = ["Authorization", ""];
  beforeAll(() => {
    auth[1] = `Bearer ${token}`;
  });

  it("a POST without a body is 400 'is required', not 415", async () => {
    const response = await rawRequest("POST", "/workspace", [auth, ["Content-Length", "0"]]);
    expect(response.status).toBe(400);
    expect(response.body.message).toMatch(/body: is required/);
  });

  it("JSON in another charset is 415", async () => {
    const body = JSON.stringify({ name: "latin-1" });
    const response = await rawRequest(
      "POST",
      "/workspace",
      [
        auth,
        ["Content-Type", "application/json; charset=iso-8859-1"],
        ["Content-Length", String(body.length)],
      ],
      [body],
    );
    expect(response.status).toBe(415);
    expect(response.body).toMatchObject({ success: false, code: "UNSUPPORTED_MEDIA_TYPE" });
  });

  it("a body that is not JSON is 415, one over 64 KiB is 413", async () => {
    const form = await curl("/workspace", ["-H", `Authorization: Bearer ${token}`, "-d", "name=x"]);
    expect(form.status).toBe(415);
    const big = JSON.stringify({ name: "x".repeat(70 * 1024) });
    const tooLarge = await rawRequest(
      "POST",
      "/workspace",
      [auth, ["Content-Type", "application/json"], ["Content-Length", String(big.length)]],
      [big],
    );
    expect(tooLarge.status).toBe(413);
  });

  it("a raw caller who sends the client's alias `access` is told the field is accessType", async () => {
    const response = await curl(`/repo/${repoId}/apikey`, [
      ...["-H", `Authorization: Bearer ${token}`, "-H", "Content-Type: application/json"],
      ...["-d", '{"name":"CI Bot","access":"READ"}'],
    ]);
    expect(response.status).toBe(400);
    expect(response.body.message).toMatch(/unknown field "access"; did you mean "accessType"\?/);
  });
});
