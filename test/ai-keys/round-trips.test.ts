import { describe, expect, it } from "vitest";
import { team } from "../support/api";
import { callWith, countingDb, createAiKey } from "../support/keys";

describe("D1 round trips per AI-key request", () => {
  it("are one to list or create, at most two to rename or delete", async () => {
    const { admin, repoId } = await team();
    const { id } = await createAiKey(admin, repoId);

    const requests: [string, string, unknown, number, number][] = [
      ["GET", `/repo/${repoId}/ai/apikey`, undefined, 200, 1],
      ["POST", `/repo/${repoId}/ai/apikey`, { name: "k", aiType: "OTHER" }, 201, 1],
      ["PUT", `/repo/${repoId}/ai/apikey/${id}`, { name: "renamed" }, 200, 2],
      ["DELETE", `/repo/${repoId}/ai/apikey/${id}`, undefined, 200, 2],
    ];
    for (const [method, path, sent, status, most] of requests) {
      const { db, roundTrips } = countingDb();
      const response = await callWith({ DB: db }, method, path, { as: admin, body: sent });
      expect(response.status, response.text).toBe(status);
      expect(roundTrips(), `${method} ${path}`).toBeGreaterThan(0);
      expect(roundTrips(), `${method} ${path}`).toBeLessThanOrEqual(most);
    }
  });
});
