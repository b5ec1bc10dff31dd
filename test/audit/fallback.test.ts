import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { deliverAudit } from "../../src/audit/publish";
import { team } from "../support/api";
import { auditEvent, downDb, downQueue, send, storedEvent, waitForEvents } from "../support/audit";

afterEach(() => {
  vi.restoreAllMocks();
});

/** Every line a console method was called with, parsed as the JSON the Worker logs. */
function loggedJson(spy: { mock: { calls: unknown[][] } }): any[] {
  return spy.mock.calls.map((args) => JSON.parse(String(args[0])));
}

describe("delivering an audit event", () => {
  it("sends it to the Queue, whose consumer stores it in D1", async () => {
    const event = auditEvent();
    expect(await deliverAudit(env, event)).toBe("queue");
    const [row] = await waitForEvents({ requestId: event.requestId });
    expect(row).toMatchObject({ id: event.id, type: event.type, dead_lettered: 0 });
  }, 20_000);

  it("stores it straight into D1 when the Queue send throws", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const event = auditEvent();

    expect(await deliverAudit({ AUDIT: downQueue, DB: env.DB }, event)).toBe("d1");

    expect(await storedEvent(event.id)).toMatchObject({
      id: event.id,
      type: event.type,
      actor_id: event.actorId,
      workspace_id: event.workspaceId,
      request_id: event.requestId,
      changes: JSON.stringify(event.changes),
      dead_lettered: 0,
    });
    // Operators can see that the Queue is failing.
    expect(loggedJson(warn)).toEqual([
      expect.objectContaining({ level: "warn", eventId: event.id, requestId: event.requestId }),
    ]);
  });

  it("logs the whole event as structured JSON when the Queue and D1 both fail", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const event = auditEvent();

    expect(await deliverAudit({ AUDIT: downQueue, DB: downDb() }, event)).toBe("log");

    expect(loggedJson(error)).toEqual([
      expect.objectContaining({
        level: "error",
        event,
        queueError: expect.stringContaining("queue down"),
        storeError: expect.stringContaining("D1 down"),
      }),
    ]);
    expect(await storedEvent(event.id)).toBeNull();
  });
});

describe("a request whose Queue send fails", () => {
  it("still succeeds, and its event is in D1", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const { admin, workspaceId, repoId } = await team();

    const { response } = await send(
      "POST",
      `/repo/${repoId}/apikey`,
      { as: admin, body: { name: "CI Bot", accessType: "READ" } },
      { AUDIT: downQueue },
    );

    expect(response.status, response.text).toBe(200);
    const requestId = response.headers.get("X-Request-Id") as string;
    const { results } = await env.DB.prepare("SELECT * FROM audit_events WHERE request_id = ?")
      .bind(requestId)
      .all();
    expect(results).toEqual([
      expect.objectContaining({
        type: "apikey.created",
        actor_id: admin,
        workspace_id: workspaceId,
        repo_id: repoId,
        target_id: response.body.id,
      }),
    ]);
  });

  it("still succeeds when D1 refuses the event too: the change happened", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const { admin, repoId } = await team();
    // The key's own statements go through; only the audit insert fails.
    const db = downDb();

    const { response } = await send(
      "POST",
      `/repo/${repoId}/ai/apikey`,
      { as: admin, body: { name: "Gateway", aiType: "OPENAI" } },
      { AUDIT: downQueue, DB: db },
    );

    expect(response.status, response.text).toBe(201);
    const logged = loggedJson(error);
    expect(logged).toEqual([
      expect.objectContaining({
        event: expect.objectContaining({ type: "ai_apikey.created", targetId: response.body.id }),
      }),
    ]);
    expect(JSON.stringify(logged)).not.toContain(response.body.secret);
  });
});
