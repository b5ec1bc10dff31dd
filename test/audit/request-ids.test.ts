import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { AuditEvent } from "../../src/audit/event";
import { call, team } from "../support/api";
import { AUDIT_QUEUE, auditEvent, auditEventsOf, consume, message, send } from "../support/audit";

afterEach(() => {
  vi.restoreAllMocks();
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Creates a storage key sending `X-Request-Id: clientId` (when given); its event and answer. */
async function createKeyWith(clientId?: string) {
  const { admin, repoId } = await team();
  const { response, sent } = await send("POST", `/repo/${repoId}/apikey`, {
    as: admin,
    body: { name: "CI Bot", accessType: "READ" },
    headers: clientId === undefined ? {} : { "X-Request-Id": clientId },
  });
  expect(response.status, response.text).toBe(200);
  expect(sent).toHaveLength(1);
  const requestId = response.headers.get("X-Request-Id") as string;
  return { admin, repoId, keyId: response.body.id as string, requestId, event: sent[0] };
}

/** The event of `keyId`'s creation as the audit read API answers it. */
async function readBack(admin: string, repoId: string, keyId: string) {
  await auditEventsOf(keyId, "apikey.created");
  const page = await call("GET", `/repo/${repoId}/audit`, { as: admin });
  expect(page.status, page.text).toBe(200);
  return page.body.events.find((event: AuditEvent) => event.targetId === keyId);
}

describe("who said what: the audit trail's request ids", () => {
  it("records the service's own id as requestId and the client's X-Request-Id as clientRequestId", async () => {
    const { admin, repoId, keyId, requestId, event } = await createKeyWith("my-trace-1");

    expect(requestId).toMatch(UUID);
    expect(event).toMatchObject({ requestId, clientRequestId: "my-trace-1" });
    const [stored] = await auditEventsOf(keyId, "apikey.created");
    expect(stored).toMatchObject({ request_id: requestId, client_request_id: "my-trace-1" });
    expect(await readBack(admin, repoId, keyId)).toMatchObject({
      requestId,
      clientRequestId: "my-trace-1",
    });
  });

  it("records no clientRequestId when the client sent none", async () => {
    const { admin, repoId, keyId, requestId, event } = await createKeyWith();

    expect(event?.requestId).toBe(requestId);
    expect(event).not.toHaveProperty("clientRequestId");
    const [stored] = await auditEventsOf(keyId, "apikey.created");
    expect(stored).toMatchObject({ client_request_id: null });
    const read = await readBack(admin, repoId, keyId);
    expect(read.requestId).toBe(requestId);
    expect(read).not.toHaveProperty("clientRequestId");
  });

  it("keeps a client id of exactly 128 allowed characters whole", async () => {
    const allowed = "AZaz09._:/+=-";
    const longest = allowed.repeat(10).slice(0, 128);
    const { event, requestId } = await createKeyWith(longest);
    expect(event).toMatchObject({ requestId, clientRequestId: longest });
  });

  it.each([
    ["129 characters", "a".repeat(129)],
    ["a space", "my trace"],
    ["markup", "<script>alert(1)</script>"],
    ["a comma", "a,b"],
    ["a semicolon", "id;drop"],
    ["a quote", 'say"hi'],
    ["a non-ASCII letter", "caf\u00e9"],
  ])("drops a client id with %s, and the request still succeeds", async (_, clientId) => {
    const { keyId, requestId, event } = await createKeyWith(clientId);

    expect(requestId).toMatch(UUID);
    expect(event?.requestId).toBe(requestId);
    expect(event).not.toHaveProperty("clientRequestId");
    const [stored] = await auditEventsOf(keyId, "apikey.created");
    expect(stored).toMatchObject({ client_request_id: null });
  });

  it("is checked again by the queue consumer: an event with an ill-formed clientRequestId is not stored", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const poison = message({ ...auditEvent(), clientRequestId: "not allowed" });
    const good = message(auditEvent({ clientRequestId: "trace-2" }));

    const result = await consume(AUDIT_QUEUE, [poison, good]);

    expect(result.explicitAcks.sort()).toEqual([poison.id, good.id].sort());
    const { results } = await env.DB.prepare(
      "SELECT id, client_request_id FROM audit_events WHERE id IN (?, ?)",
    )
      .bind((poison.body as AuditEvent).id, (good.body as AuditEvent).id)
      .all();
    expect(results).toEqual([{ id: (good.body as AuditEvent).id, client_request_id: "trace-2" }]);
  });
});
