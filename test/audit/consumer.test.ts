import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  AUDIT_DEAD_LETTER_QUEUE,
  AUDIT_QUEUE,
  auditEvent,
  consume,
  countStored,
  downDb,
  message,
  storedEvent,
} from "../support/audit";

afterEach(() => {
  vi.restoreAllMocks();
});

const sorted = (ids: string[]) => [...ids].sort();

describe("the audit queue consumer", () => {
  it("stores valid events with every field and acks them", async () => {
    const events = [
      auditEvent({
        type: "workspace.member_updated",
        changes: { role: { before: "WRITE", after: "READ" } },
      }),
      auditEvent({
        repoId: undefined,
        targetId: undefined,
        changes: undefined,
        ip: null,
        userAgent: null,
      }),
    ];
    const messages = events.map((event) => message(event));

    const result = await consume(AUDIT_QUEUE, messages);

    expect(sorted(result.explicitAcks)).toEqual(sorted(messages.map((m) => m.id)));
    expect(result.retryMessages).toEqual([]);
    expect(result.retryBatch.retry).toBe(false);
    const [first, second] = events as [any, any];
    expect(await storedEvent(first.id)).toMatchObject({
      type: "workspace.member_updated",
      at: first.at,
      actor_id: first.actorId,
      workspace_id: first.workspaceId,
      repo_id: first.repoId,
      target_id: first.targetId,
      request_id: first.requestId,
      ip: first.ip,
      user_agent: first.userAgent,
      changes: JSON.stringify(first.changes),
      dead_lettered: 0,
    });
    expect(await storedEvent(second.id)).toMatchObject({
      repo_id: null,
      target_id: null,
      changes: null,
      ip: null,
      user_agent: null,
    });
  });

  it("stores a full batch of 100 events", async () => {
    const events = Array.from({ length: 100 }, () => auditEvent());
    const result = await consume(
      AUDIT_QUEUE,
      events.map((event) => message(event)),
    );
    expect(result.explicitAcks).toHaveLength(100);
    expect(await countStored(events.map((event) => event.id))).toBe(100);
  });

  it("stores a redelivered event once, and acks it again", async () => {
    const events = [auditEvent(), auditEvent()];
    await consume(
      AUDIT_QUEUE,
      events.map((event) => message(event)),
    );
    const before = await storedEvent(events[0]?.id as string);

    // The same events again, as after a lost ack, and the same one twice in one batch.
    const again = [...events, events[0]].map((event) => message(event, 2));
    const result = await consume(AUDIT_QUEUE, again);

    expect(sorted(result.explicitAcks)).toEqual(sorted(again.map((m) => m.id)));
    expect(await countStored(events.map((event) => event.id))).toBe(2);
    expect(await storedEvent(events[0]?.id as string)).toEqual(before);
  });

  it("acks and logs a poison message without costing the good ones", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const good = [auditEvent(), auditEvent()];
    const poison = [
      message({ hello: "world" }),
      message("not an event"),
      message(null),
      message({ ...auditEvent(), type: "apikey.exploded" }),
      // A secret smuggled in an unknown field: refused, and not written to the logs either.
      message({ ...auditEvent(), secret: "fbsk_live_do-not-log-me" }),
    ];
    const goodMessages = good.map((event) => message(event));
    const messages = [goodMessages[0], ...poison, goodMessages[1]] as typeof poison;

    const result = await consume(AUDIT_QUEUE, messages);

    expect(sorted(result.explicitAcks)).toEqual(sorted(messages.map((m) => m.id)));
    expect(result.retryMessages).toEqual([]);
    expect(await countStored(good.map((event) => event.id))).toBe(2);
    expect(await countStored(poison.map((m) => (m.body as any)?.id).filter(Boolean))).toBe(0);
    const logged = error.mock.calls.map((args) => JSON.parse(String(args[0])));
    expect(logged.map((line) => line.messageId).sort()).toEqual(sorted(poison.map((m) => m.id)));
    expect(JSON.stringify(logged)).not.toContain("do-not-log-me");
  });

  it("retries the valid messages with a delay, acking none, when D1 fails", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const events = [auditEvent(), auditEvent()];
    const valid = events.map((event) => message(event));
    const poison = message({ not: "an event" });

    const result = await consume(AUDIT_QUEUE, [...valid, poison], { ...env, DB: downDb() });

    expect(result.explicitAcks).toEqual([poison.id]);
    expect(result.ackAll).toBe(false);
    expect(sorted(result.retryMessages.map((retry) => retry.msgId))).toEqual(
      sorted(valid.map((m) => m.id)),
    );
    for (const retry of result.retryMessages) expect(retry.delaySeconds).toBeGreaterThan(0);
    expect(await countStored(events.map((event) => event.id))).toBe(0);
  });

  it("backs off: a message that has failed more often waits longer", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const delayAfter = async (attempts: number) => {
      const result = await consume(AUDIT_QUEUE, [message(auditEvent(), attempts)], {
        ...env,
        DB: downDb(),
      });
      return result.retryMessages[0]?.delaySeconds ?? 0;
    };
    const first = await delayAfter(1);
    const fourth = await delayAfter(4);
    expect(first).toBeGreaterThan(0);
    expect(fourth).toBeGreaterThan(first);
    // Still within a few minutes, so ten retries end well inside the Queue's retention.
    expect(await delayAfter(30)).toBeLessThanOrEqual(600);
  });

  it("stores messages from the dead-letter queue, flagged dead_lettered", async () => {
    const events = [auditEvent(), auditEvent()];
    const messages = events.map((event) => message(event, 11));

    const result = await consume(AUDIT_DEAD_LETTER_QUEUE, messages);

    expect(sorted(result.explicitAcks)).toEqual(sorted(messages.map((m) => m.id)));
    for (const event of events) {
      expect(await storedEvent(event.id)).toMatchObject({ id: event.id, dead_lettered: 1 });
    }
  });

  it("keeps the events in the logs when D1 fails on the dead-letter queue", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const event = auditEvent();

    const result = await consume(AUDIT_DEAD_LETTER_QUEUE, [message(event, 3)], {
      ...env,
      DB: downDb(),
    });

    expect(result.retryMessages).toHaveLength(1);
    const logged = error.mock.calls.map((args) => JSON.parse(String(args[0])));
    expect(logged).toEqual([expect.objectContaining({ events: [event] })]);
  });
});
