import {
  createExecutionContext,
  createMessageBatch,
  getQueueResult,
  type MessageBatchMessage,
  type QueueResult,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createApp } from "../../src/app";
import type { AuditEvent } from "../../src/audit/event";
import { storeAuditEvents } from "../../src/audit/store";
import { database } from "../../src/db/client";
import { repos, workspaceMembers, workspaces } from "../../src/db/schema";
import type { Bindings } from "../../src/env";
import worker from "../../src/index";
import { type ApiResponse, newUser, tokenFor } from "./api";
import { sessionsThrough } from "./sessions";

export const AUDIT_QUEUE = "flashgate-audit";
export const AUDIT_DEAD_LETTER_QUEUE = "flashgate-audit-dlq";

/** An audit_events row exactly as D1 stores it (snake_case columns). */
export type AuditRow = Record<string, any>;

/** Stored rows matching one column, oldest first (ties by id). */
async function rowsWhere(column: "workspace_id" | "request_id" | "id", value: string) {
  const { results } = await env.DB.prepare(
    `SELECT * FROM audit_events WHERE ${column} = ? ORDER BY at, id`,
  )
    .bind(value)
    .all<AuditRow>();
  return results;
}

/**
 * Polls D1 until at least `count` events match (the Worker's own queue consumer stores them
 * about a second after the send), then returns them all; fails after `timeoutMs`.
 */
export async function waitForEvents(
  where: { workspaceId: string } | { requestId: string },
  count = 1,
  timeoutMs = 15_000,
): Promise<AuditRow[]> {
  const [column, value] =
    "workspaceId" in where
      ? (["workspace_id", where.workspaceId] as const)
      : (["request_id", where.requestId] as const);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await rowsWhere(column, value);
    if (rows.length >= count) return rows;
    if (Date.now() > deadline) {
      throw new Error(
        `expected ${count} audit event(s) for ${column} ${value} within ${timeoutMs} ms, found ${rows.length}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The stored row of one event id, or null. */
export async function storedEvent(id: string): Promise<AuditRow | null> {
  return (await rowsWhere("id", id))[0] ?? null;
}

/** How many rows the events with these ids have in D1. */
export async function countStored(ids: string[]): Promise<number> {
  const row = await env.DB.prepare(
    "SELECT count(*) AS n FROM audit_events WHERE id IN (SELECT value FROM json_each(?))",
  )
    .bind(JSON.stringify(ids))
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** A valid audit event; `overrides` set any field. */
export function auditEvent(overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    id: crypto.randomUUID(),
    type: "apikey.created",
    at: new Date().toISOString(),
    actorId: "actor-1",
    workspaceId: crypto.randomUUID(),
    repoId: crypto.randomUUID(),
    targetId: crypto.randomUUID(),
    requestId: crypto.randomUUID(),
    ip: "203.0.113.7",
    userAgent: "audit-test/1.0",
    changes: { name: { after: "CI Bot" } },
    ...overrides,
  };
}

/** Stores events straight into D1, the way the consumer would: seeds for reading tests. */
export function seedEvents(events: AuditEvent[], { deadLettered = false } = {}): Promise<void> {
  return storeAuditEvents(database(env.DB), events, deadLettered);
}

/**
 * A workspace with an ADMIN and two repos, written straight to D1: unlike `team()`, it emits
 * no audit events, so its audit trail holds exactly what a test seeds.
 */
export async function quietWorkspace() {
  const admin = newUser("admin");
  const workspaceId = crypto.randomUUID();
  const repoId = crypto.randomUUID();
  const otherRepoId = crypto.randomUUID();
  const at = new Date().toISOString();
  const db = database(env.DB);
  await db.batch([
    db
      .insert(workspaces)
      .values({ id: workspaceId, name: "Quiet", createdBy: admin, createdAt: at }),
    db
      .insert(workspaceMembers)
      .values({ workspaceId, userId: admin, role: "ADMIN", createdAt: at }),
    db.insert(repos).values([
      { id: repoId, workspaceId, name: "quiet-a", createdBy: admin, createdAt: at },
      { id: otherRepoId, workspaceId, name: "quiet-b", createdBy: admin, createdAt: at },
    ]),
  ]);
  return { admin, workspaceId, repoId, otherRepoId };
}

/** A Queue binding whose every send fails, as when the Queue is unavailable. */
export const downQueue = {
  send: () => Promise.reject(new Error("queue down")),
  sendBatch: () => Promise.reject(new Error("queue down")),
} as unknown as Bindings["AUDIT"];

/** The real D1 database, except that it refuses every statement on the audit table. */
export function downDb(): D1Database {
  return sessionsThrough(
    new Proxy(env.DB, {
      get(target, property) {
        if (property === "prepare") {
          return (query: string) => {
            if (query.includes('"audit_events"')) throw new Error("D1 down");
            return target.prepare(query);
          };
        }
        const value = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    }),
  );
}

export interface SentRequest {
  response: ApiResponse;
  /** Every event the request sent to the Queue. */
  sent: AuditEvent[];
  /** The bearer token the request carried. */
  token: string;
}

/**
 * One request to the app, as `as`, with bindings changed by `overrides`; waits for the audit
 * delivery it schedules. The AUDIT queue is the real one, recording every event sent through it.
 */
export async function send(
  method: string,
  path: string,
  options: { as: string; body?: unknown; headers?: Record<string, string> },
  overrides: Partial<Bindings> = {},
): Promise<SentRequest> {
  const sent: AuditEvent[] = [];
  const queue = {
    send: (event: AuditEvent, sendOptions?: QueueSendOptions) => {
      sent.push(event);
      return env.AUDIT.send(event, sendOptions);
    },
    sendBatch: (messages: Iterable<MessageSendRequest<AuditEvent>>) => {
      for (const message of messages) sent.push(message.body);
      return env.AUDIT.sendBatch(messages);
    },
  } as unknown as Bindings["AUDIT"];

  const token = await tokenFor(options.as);
  const headers = new Headers(options.headers);
  headers.set("Authorization", `Bearer ${token}`);
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
    headers.set("Content-Type", "application/json");
  }
  const ctx = createExecutionContext();
  const raw = await createApp().fetch(
    new Request(`https://flashgate.test${path}`, { method, headers, body }),
    { ...env, AUDIT: queue, ...overrides },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  const text = await raw.text();
  const parsed = raw.headers.get("Content-Type")?.includes("application/json")
    ? JSON.parse(text)
    : null;
  return {
    response: { status: raw.status, headers: raw.headers, body: parsed, text },
    sent,
    token,
  };
}

/** A message as the Queue delivers it. */
export function message(body: unknown, attempts = 1): MessageBatchMessage {
  return { id: crypto.randomUUID(), timestamp: new Date(), attempts, body };
}

/**
 * Runs the Worker's queue() handler on one batch and returns what it acked and retried.
 * The test runtime's messages ignore retry()'s options and getQueueResult reports no
 * delaySeconds (vitest-plugin 1.4.10), so the delays are read from the retry() calls.
 */
export async function consume(
  queue: string,
  messages: MessageBatchMessage[],
  bindings: Bindings = env,
): Promise<QueueResult> {
  const batch = createMessageBatch(queue, messages);
  const delays = new Map<string, number | undefined>();
  for (const message of batch.messages) {
    const retry = message.retry.bind(message);
    message.retry = (options?: QueueRetryOptions) => {
      delays.set(message.id, options?.delaySeconds);
      retry(options);
    };
  }
  const ctx = createExecutionContext();
  const handler = worker.queue as (
    batch: MessageBatch,
    env: Bindings,
    ctx: ExecutionContext,
  ) => Promise<void>;
  await handler(batch, bindings, ctx);
  const result = await getQueueResult(batch, ctx);
  return {
    ...result,
    retryMessages: result.retryMessages.map(({ msgId }) => ({
      msgId,
      delaySeconds: delays.get(msgId),
    })),
  };
}

/**
 * The stored events of one type about one target, oldest first, `changes` parsed; polls until
 * there is at least one (the queue consumer stores them about a second after the change).
 */
export async function auditEventsOf(targetId: string, type: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { results } = await env.DB.prepare(
      "SELECT * FROM audit_events WHERE target_id = ? AND type = ? ORDER BY at, id",
    )
      .bind(targetId, type)
      .all<AuditRow>();
    if (results.length > 0) {
      return results.map((row) => ({
        ...row,
        changes: row.changes ? JSON.parse(row.changes) : null,
      }));
    }
    if (Date.now() > deadline)
      throw new Error(`no ${type} event for ${targetId} in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
