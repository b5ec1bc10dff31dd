import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { createApp } from "../../src/app";
import type { Bindings } from "../../src/env";
import { type ApiResponse, call, tokenFor } from "./api";
import { sessionsThrough } from "./sessions";

/** Creates a storage key as `as` and returns the create response's body. */
export async function createStorageKey(
  as: string,
  repoId: string,
  body: { name?: string; accessType?: string } = {},
): Promise<{ id: string; key: string; secret: string }> {
  const response = await call("POST", `/repo/${repoId}/apikey`, {
    as,
    body: { name: "CI Bot", accessType: "READ", ...body },
  });
  expect(response.status, response.text).toBe(200);
  return response.body;
}

/** Creates an AI key as `as` and returns the create response's body. */
export async function createAiKey(
  as: string,
  repoId: string,
  body: { name?: string; aiType?: string } = {},
): Promise<{ id: string; key: string; secret: string }> {
  const response = await call("POST", `/repo/${repoId}/ai/apikey`, {
    as,
    body: { name: "Gateway", aiType: "OPENAI", ...body },
  });
  expect(response.status, response.text).toBe(201);
  return response.body;
}

export type KeyTable = "storage_keys" | "ai_keys";

/** A key row exactly as D1 stores it (snake_case columns), or null. */
export function keyRow(table: KeyTable, id: string): Promise<Record<string, any> | null> {
  return env.DB.prepare(`SELECT * FROM ${table} WHERE id = ?`).bind(id).first();
}

/** Every key row of every repo: what a bad request must leave exactly as it was. */
export async function allKeyRows(table: KeyTable): Promise<Record<string, any>[]> {
  const { results } = await env.DB.prepare(`SELECT * FROM ${table} ORDER BY id`).all();
  return results;
}

/** How many rows `table` holds for `repoId`, deleted ones included. */
export async function countKeyRows(table: KeyTable, repoId: string): Promise<number> {
  const row = await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE repo_id = ?`)
    .bind(repoId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/**
 * One request to a fresh app whose bindings differ from the test configuration by
 * `overrides` (e.g. a small quota); waits for the audit delivery it schedules. `as` sends a
 * fresh token for that user, `authorization` this exact header, `headers` any others.
 */
export async function callWith(
  overrides: Partial<Bindings>,
  method: string,
  path: string,
  options: {
    as?: string;
    authorization?: string;
    body?: unknown;
    /** A body sent byte for byte as given (a signed one), as JSON unless `headers` say otherwise. */
    rawBody?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<ApiResponse> {
  const headers = new Headers(options.headers);
  if (options.as !== undefined) {
    headers.set("Authorization", `Bearer ${await tokenFor(options.as)}`);
  }
  if (options.authorization !== undefined) headers.set("Authorization", options.authorization);
  let body: string | undefined;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers.set("Content-Type", "application/json");
  }
  if (options.rawBody !== undefined) {
    body = options.rawBody;
    if (!headers.has("Content-Type")) headers.set("Content-Type", "application/json");
  }
  const request = new Request(`https://flashgate.test${path}`, { method, headers, body });
  const ctx = createExecutionContext();
  const response = await createApp().fetch(request, { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  const text = await response.text();
  const parsed = response.headers.get("Content-Type")?.includes("application/json")
    ? JSON.parse(text)
    : null;
  return { status: response.status, headers: response.headers, body: parsed, text };
}

/** A UUID no row has. */
export const unknownId = () => crypto.randomUUID();

/** The real audit queue, recording every event sent through it. */
export function recordingAuditQueue(): { queue: Bindings["AUDIT"]; sent: unknown[] } {
  const sent: unknown[] = [];
  const queue = {
    send: (message: unknown, options?: QueueSendOptions) => {
      sent.push(message);
      return env.AUDIT.send(message as never, options);
    },
    sendBatch: (messages: Iterable<MessageSendRequest>, options?: QueueSendBatchOptions) => {
      for (const message of messages) sent.push(message.body);
      return env.AUDIT.sendBatch(messages as never, options);
    },
  } as unknown as Bindings["AUDIT"];
  return { queue, sent };
}

/**
 * The real D1 database, where `meanwhile` runs once right after the request's first batch:
 * a concurrent request landing between a handler's read and its write.
 */
export function dbWithConcurrentWrite(meanwhile: () => Promise<unknown>): D1Database {
  let pending = true;
  return sessionsThrough(
    new Proxy(env.DB, {
      get(target, property) {
        if (property === "batch") {
          return async (statements: D1PreparedStatement[]) => {
            const results = await target.batch(statements);
            if (pending) {
              pending = false;
              await meanwhile();
            }
            return results;
          };
        }
        const value = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    }),
  );
}

/**
 * The real D1 database, counting round trips: each batch is one, and so is each statement
 * run on its own.
 */
export function countingDb(): { db: D1Database; roundTrips: () => number } {
  let trips = 0;
  const counted = (statement: D1PreparedStatement): D1PreparedStatement => {
    const self = statement as unknown as Record<string, (...args: unknown[]) => unknown>;
    for (const method of ["run", "all", "first", "raw"]) {
      const original = self[method]?.bind(statement);
      self[method] = (...args: unknown[]) => {
        trips += 1;
        return original?.(...args);
      };
    }
    const bind = statement.bind.bind(statement);
    self.bind = (...values: unknown[]) => counted(bind(...values));
    return statement;
  };
  const db = new Proxy(env.DB, {
    get(target, property) {
      if (property === "prepare") return (query: string) => counted(target.prepare(query));
      if (property === "batch") {
        return (statements: D1PreparedStatement[]) => {
          trips += 1;
          return target.batch(statements);
        };
      }
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { db: sessionsThrough(db), roundTrips: () => trips };
}
