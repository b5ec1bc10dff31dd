import { describe, expect, it } from "vitest";
import { call, expectError } from "./support/api";

describe("GET /health", () => {
  it("answers 200 {status: ok} without a token", async () => {
    const response = await call("GET", "/health");
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: "ok" });
  });
});

describe("unknown routes", () => {
  it("are a JSON 404, with or without a token", async () => {
    expectError(await call("GET", "/nope"), 404);
    expectError(await call("GET", "/nope", { as: "someone" }), 404);
  });
});
