import { describe, expect, it } from "vitest";
import { baseUrl, newUser, tokenFor } from "./support/http";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Polls the workspace's audit trail until an event of `type` is there; returns it. */
async function auditEvent(token: string, workspaceId: string, type: string) {
  for (const deadline = Date.now() + 20_000; ; ) {
    const response = await fetch(`${baseUrl}/workspace/${workspaceId}/audit`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
    const { events } = (await response.json()) as { events: { type: string }[] };
    const event = events.find((e) => e.type === type);
    if (event) return event;
    if (Date.now() > deadline) throw new Error(`no ${type} event in 20 s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe("who said what, over npm run dev", () => {
  it("records the service's id as requestId and the client's X-Request-Id beside it", async () => {
    const token = await tokenFor(newUser("traced"));
    const response = await fetch(`${baseUrl}/workspace`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${token}`,
        "Content-Type": "application/json",
        "X-Request-Id": "my-trace-1",
      },
      body: JSON.stringify({ name: "Traced" }),
    });
    expect(response.status).toBe(200);
    const requestId = response.headers.get("x-request-id");
    expect(requestId).toMatch(UUID);
    const { id } = (await response.json()) as { id: string };

    expect(await auditEvent(token, id, "workspace.created")).toMatchObject({
      requestId,
      clientRequestId: "my-trace-1",
    });

    // A client id longer than 128 characters is dropped; the request goes through.
    const repo = await fetch(`${baseUrl}/repo`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${token}`,
        "Content-Type": "application/json",
        "X-Request-Id": "x".repeat(129),
      },
      body: JSON.stringify({ name: "traced-repo", workspaceId: id }),
    });
    expect(repo.status).toBe(200);
    const repoEvent = await auditEvent(token, id, "repo.created");
    expect(repoEvent).toMatchObject({ requestId: repo.headers.get("x-request-id") });
    expect(repoEvent).not.toHaveProperty("clientRequestId");
  });

  it("puts the service's id, not the client's, in an error envelope", async () => {
    const response = await fetch(`${baseUrl}/workspace`, {
      headers: { "X-Request-Id": "my-trace-2" },
    });
    expect(response.status).toBe(401);
    const body = (await response.json()) as { requestId: string };
    expect(body.requestId).toMatch(UUID);
    expect(body.requestId).toBe(response.headers.get("x-request-id"));
  });
});
