import { describe, expect, it } from "vitest";
import { call, team } from "../support/api";

// UUIDs are case-insensitive (RFC 9562); ids are stored lower-case and D1 compares text exactly.
describe("ids in upper case", () => {
  it("reach the same repo in the path", async () => {
    const { admin, repoId } = await team();
    const response = await call("GET", `/repo/${repoId.toUpperCase()}/apikey`, { as: admin });
    expect(response.status, response.text).toBe(200);
    expect(response.body.keys).toEqual([]);
  });

  it("match the path's repoId when repeated in the body", async () => {
    const { writer, repoId } = await team();
    const response = await call("POST", `/repo/${repoId}/apikey`, {
      as: writer,
      body: { repoId: repoId.toUpperCase(), name: "CI Bot", accessType: "READ" },
    });
    expect(response.status, response.text).toBe(200);
  });
});
