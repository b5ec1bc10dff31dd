import { beforeAll, describe, expect, it } from "vitest";
import { call, expectError, team } from "../support/api";
import { createStorageKey } from "../support/keys";
import { gatewayToken, keyVerifier, signedS3Request } from "./support";

let admin: string;
let repoId: string;
let workspaceId: string;

beforeAll(async () => {
  ({ admin, repoId, workspaceId } = await team());
});

describe("who may verify", () => {
  it("a gateway token (scope keys:verify) may verify and do nothing else", async () => {
    const authorization = `Bearer ${await gatewayToken("gw-1", "openid keys:verify")}`;
    const key = await createStorageKey(admin, repoId);
    const input = await signedS3Request(key, { path: `/${repoId}/a` });
    const verified = await call("POST", "/verify/s3", { authorization, body: input });
    expect(verified.status).toBe(200);
    expect(verified.body.code).toBe("VALID");
    for (const [method, path] of [
      ["GET", "/workspace"],
      ["GET", `/repo/${repoId}/apikey`],
      ["POST", `/repo/${repoId}/apikey`],
      ["GET", `/workspace/${workspaceId}/audit`],
    ] as const) {
      const body = method === "POST" ? { name: "x", accessType: "READ" } : undefined;
      const response = await call(method, path, { authorization, body });
      expectError(response, 403, /gateway token/);
    }
  });

  it("a user's token, even one with identity-provider scopes, is 403 on the verification endpoints", async () => {
    for (const authorization of [
      `Bearer ${await gatewayToken(admin, "openid profile email")}`,
      `Bearer ${await gatewayToken(admin, "keys:verify:extra")}`,
    ]) {
      // Such a token is a user's: it manages keys as before.
      expect((await call("GET", `/repo/${repoId}/apikey`, { authorization })).status).toBe(200);
      for (const path of ["/verify/s3", "/verify/ai"]) {
        const response = await call("POST", path, { authorization, body: { secret: "x" } });
        expectError(response, 403, /gateway token/);
      }
    }
    const plain = await call("POST", "/verify/ai", { as: admin, body: { secret: "x" } });
    expectError(plain, 403);
  });

  it("no token is 401; a wrong method is 405", async () => {
    expectError(await call("POST", "/verify/s3", { body: {} }), 401);
    expectError(await call("GET", "/verify/s3"), 405);
  });
});

describe("bad input", () => {
  const bad: [string, unknown][] = [
    ["no url", { method: "GET", headers: {} }],
    ["a relative url", { method: "GET", url: "/a/b", headers: {} }],
    ["headers that are not strings", { method: "GET", url: "https://h/a", headers: { a: 1 } }],
    [
      "an unknown access level",
      { method: "GET", url: "https://h/a", headers: {}, requiredAccess: "ROOT" },
    ],
    ["an unknown field", { method: "GET", url: "https://h/a", headers: {}, secret: "x" }],
  ];
  for (const [what, body] of bad) {
    it(`is 400 over HTTP and the same envelope over RPC: ${what}`, async () => {
      const http = await call("POST", "/verify/s3", {
        authorization: `Bearer ${await gatewayToken()}`,
        body,
      });
      expectError(http, 400);
      const rpc = await keyVerifier.verifyS3Request(body);
      expect(rpc).toMatchObject({ success: false, code: "VALIDATION_FAILED" });
      expect({ ...rpc, requestId: undefined }).toEqual({ ...http.body, requestId: undefined });
    });
  }

  it("an AI body without a secret is 400", async () => {
    const http = await call("POST", "/verify/ai", {
      authorization: `Bearer ${await gatewayToken()}`,
      body: {},
    });
    expectError(http, 400, "Invalid request body. secret: is required");
  });
});
