import { describe, expect, it } from "vitest";
import { team } from "../support/api";
import { callWith, countingDb, createStorageKey } from "../support/keys";

describe("D1 round trips per storage-key request", () => {
  it("are one to list or create, at most two to update or delete", async () => {
    const { admin, repoId } = await team();
    const { id } = await createStorageKey(admin, repoId);
    const body = { name: "k", accessType: "WRITE" };

    const requests: [string, string, unknown, number][] = [
      ["GET", `/repo/${repoId}/apikey`, undefined, 1],
      ["POST", `/repo/${repoId}/apikey`, body, 1],
      ["PUT", `/repo/${repoId}/apikey/${id}`, body, 2],
      ["DELETE", `/repo/${repoId}/apikey/${id}`, undefined, 2],
    ];
    for (const [method, path, sent, most] of requests) {
      const { db, roundTrips } = countingDb();
      const response = await callWith({ DB: db }, method, path, { as: admin, body: sent });
      expect(response.status, response.text).toBe(200);
      expect(roundTrips(), `${method} ${path}`).toBeGreaterThan(0);
      expect(roundTrips(), `${method} ${path}`).toBeLessThanOrEqual(most);
    }
  });
});
