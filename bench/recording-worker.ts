/**
 * The Worker as `npm run bench -- --scale` reads its SQL: src/index.ts with its D1 binding
 * wrapped so that every statement it runs is recorded with the values bound to it. The scale
 * bench sends each hot request here once and runs EXPLAIN QUERY PLAN on exactly what was
 * recorded, so the plans checked are the app's own statements, not copies. Load is measured on
 * the production bundle, not on this one.
 *
 * Any request: `{ status, body, statements }`, the Worker's answer and its statements in the
 * order run, each `deferred` when it ran after the answer (waitUntil: the batched lastUsedAt
 * write a second later, which this waits for). `POST /__scale/scheduled`: the cron trigger's run,
 * awaited, and its statements.
 */
import type { Bindings } from "../src/env";
import worker from "../src/index";

interface Statement {
  sql: string;
  params: unknown[];
  deferred: boolean;
}

type Queryable = D1Database | D1DatabaseSession;

/**
 * `db` whose statements, run alone or in a batch, are reported to `record` as they run; so are
 * those of the sessions it starts (the API runs each request in a D1 session).
 */
function recording<T extends Queryable>(
  db: T,
  record: (sql: string, params: unknown[]) => void,
): T {
  // D1's batch needs its own statement objects: each proxy remembers the statement it wraps.
  const originals = new WeakMap<
    object,
    { statement: D1PreparedStatement; sql: string; params: unknown[] }
  >();
  const wrap = (statement: D1PreparedStatement, sql: string, params: unknown[]) => {
    const proxy: D1PreparedStatement = new Proxy(statement, {
      get(target, property) {
        if (property === "bind") {
          return (...values: unknown[]) => wrap(target.bind(...values), sql, values);
        }
        const value = Reflect.get(target, property);
        if (typeof value !== "function") return value;
        if (["all", "run", "first", "raw"].includes(property as string)) {
          return (...args: unknown[]) => {
            record(sql, params);
            return value.apply(target, args);
          };
        }
        return value.bind(target);
      },
    });
    originals.set(proxy, { statement, sql, params });
    return proxy;
  };
  return new Proxy(db, {
    get(target, property) {
      if (property === "prepare") return (sql: string) => wrap(target.prepare(sql), sql, []);
      if (property === "withSession") {
        return (start?: string) => recording((target as D1Database).withSession(start), record);
      }
      if (property === "batch") {
        return (statements: D1PreparedStatement[]) =>
          target.batch(
            statements.map((s) => {
              const original = originals.get(s);
              if (!original) return s;
              record(original.sql, original.params);
              return original.statement;
            }),
          );
      }
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Runs `handle` with the recording binding; answers its statements once its waitUntils settle. */
async function captured(
  env: Bindings,
  ctx: ExecutionContext,
  handle: (env: Bindings, ctx: ExecutionContext) => Promise<Response | undefined>,
): Promise<Response> {
  const statements: Statement[] = [];
  let answered = false;
  const DB = recording(env.DB, (sql, params) =>
    statements.push({ sql, params, deferred: answered }),
  );
  const pending: Promise<unknown>[] = [];
  // waitUntil kept here, so that the answer waits for what runs after the Worker's answer.
  const recordingCtx = new Proxy(ctx, {
    get(target, property) {
      if (property === "waitUntil") {
        return (promise: Promise<unknown>) => {
          pending.push(promise);
        };
      }
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const response = await handle({ ...env, DB }, recordingCtx);
  const body = response ? await response.text() : "";
  // A cron run has no answer: all it runs is its own, none of it deferred.
  answered = response !== undefined;
  await Promise.allSettled(pending);
  let json: unknown = body;
  try {
    json = JSON.parse(body);
  } catch {}
  return Response.json({ status: response?.status ?? null, body: json, statements });
}

export default {
  async fetch(request, env, ctx) {
    if (new URL(request.url).pathname === "/__scale/scheduled") {
      return captured(env, ctx, async (recordingEnv, recordingCtx) => {
        const controller = {
          scheduledTime: Date.now(),
          cron: "*/10 * * * *",
          noRetry() {},
        } as ScheduledController;
        await worker.scheduled(controller, recordingEnv, recordingCtx);
        return undefined;
      });
    }
    return captured(env, ctx, (recordingEnv, recordingCtx) =>
      Promise.resolve(worker.fetch(request, recordingEnv, recordingCtx)),
    );
  },
} satisfies ExportedHandler<Bindings>;
