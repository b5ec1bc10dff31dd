import { describe, expect, it } from "vitest";
import { FlashgateClient, FlashgateError } from "../../client/src/index.ts";
import { newUser, team } from "../support/api";
import { clientFor, failureOf } from "./support";

describe("FlashgateError", () => {
  it("carries 403 FORBIDDEN, the message and the request id for a repo the caller cannot reach", async () => {
    const { repoId } = await team();
    const { client } = await clientFor(newUser("outsider"));

    const error = await failureOf(client.apiKeys.list(repoId));
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("FlashgateError");
    expect(error.status).toBe(403);
    expect(error.code).toBe("FORBIDDEN");
    expect(error.message).toBe("Insufficient permissions");
    expect(error.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("carries 404 NOT_FOUND for a key that is not in the repository", async () => {
    const { admin, repoId } = await team();
    const { client } = await clientFor(admin);

    const error = await failureOf(client.apiKeys.delete(repoId, crypto.randomUUID()));
    expect(error.status).toBe(404);
    expect(error.code).toBe("NOT_FOUND");
    expect(error.message).toBe("API key not found in this repository");
    expect(error.requestId).toEqual(expect.any(String));
  });

  it("carries 400 VALIDATION_FAILED with the refused fields", async () => {
    const { admin, repoId } = await team();
    const { client } = await clientFor(admin);

    const error = await failureOf(client.aiApiKeys.create(repoId, { name: " ", aiType: "OPENAI" }));
    expect(error.status).toBe(400);
    expect(error.code).toBe("VALIDATION_FAILED");
    expect(error.message).toMatch(/name: must not be empty/);
    expect(error.issues).toEqual([{ path: "name", message: "must not be empty" }]);
  });

  it("carries 401 UNAUTHORIZED for a token the API does not accept", async () => {
    const { client } = await clientFor("nobody", "not-a-jwt");
    const error = await failureOf(client.workspaces.list());
    expect(error.status).toBe(401);
    expect(error.code).toBe("UNAUTHORIZED");
  });

  it("carries 409 CONFLICT for a member added twice", async () => {
    const { admin, workspaceId, reader } = await team();
    const { client } = await clientFor(admin);
    const error = await failureOf(
      client.workspaces.members.add(workspaceId, { userId: reader, role: "READ" }),
    );
    expect(error.status).toBe(409);
    expect(error.code).toBe("CONFLICT");
  });

  it("still describes an answer that did not come from the API (a proxy's HTML page)", async () => {
    const client = new FlashgateClient({
      accessToken: "token",
      baseUrl: "https://flashgate.test",
      fetch: async () =>
        new Response("<h1>Bad gateway</h1>", {
          status: 502,
          statusText: "Bad Gateway",
          headers: { "Content-Type": "text/html", "X-Request-Id": "edge-1" },
        }),
    });
    const error = await failureOf(client.repos.list());
    expect(error).toBeInstanceOf(FlashgateError);
    expect(error.status).toBe(502);
    expect(error.code).toBe("HTTP_502");
    expect(error.message).toBe("502 Bad Gateway");
    expect(error.requestId).toBe("edge-1");
    expect(error.body).toBe("<h1>Bad gateway</h1>");
  });
});

describe("FlashgateClient URLs", () => {
  it("keeps the base URL's path prefix and encodes path parameters", async () => {
    const urls: string[] = [];
    const client = new FlashgateClient({
      accessToken: "token",
      baseUrl: "https://api.example.com/flashgate/",
      fetch: async (url) => {
        urls.push(url);
        return Response.json({ success: true, message: "ok" });
      },
    });
    await client.workspaces.members.remove("w1", "user/with space");
    await client.audit.repo("r1", { limit: 10, cursor: "abc" });
    expect(urls).toEqual([
      "https://api.example.com/flashgate/workspace/w1/users/user%2Fwith%20space",
      "https://api.example.com/flashgate/repo/r1/audit?limit=10&cursor=abc",
    ]);
  });
});
