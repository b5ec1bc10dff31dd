/**
 * The Worker with its D1 binding wrapped, for the bench only: each response carries the number
 * of D1 round trips the request made in `X-Bench-D1-Round-Trips`. A batch is one round trip;
 * so is each statement run on its own (all, run, first, raw). Load is measured on the
 * production bundle, not on this one, so the wrapping costs nothing there.
 *
 * Round trips a request starts after its response (the verification plane's batched lastUsedAt
 * write, in waitUntil about a second later) are not the request's: they are added up apart and
 * read (and reset) with `GET /__bench/deferred-round-trips`. A request with
 * `X-Bench-Verify-Cache-Ttl: 0` runs with VERIFY_CACHE_TTL_SECONDS = "0": no key is remembered.
 */
import type { Bindings } from "../src/env";
import worker from "../src/index";

const ROUND_TRIPS_HEADER = "X-Bench-D1-Round-Trips";
const CACHE_TTL_HEADER = "X-Bench-Verify-Cache-Ttl";
const DEFERRED_PATH = "/__bench/deferred-round-trips";

function counting<D extends D1Database | D1DatabaseSession>(db: D, count: () => void): D {
  // D1's batch needs its own statement objects, so each proxy remembers the statement it wraps.
  const originals = new WeakMap<D1PreparedStatement, D1PreparedStatement>();
  const counted = (statement: D1PreparedStatement): D1PreparedStatement => {
    const proxy = new Proxy(statement, {
      get(target, property) {
        if (property === "bind") {
          return (...values: unknown[]) => counted(target.bind(...values));
        }
        const value = Reflect.get(target, property);
        if (typeof value !== "function") return value;
        if (["all", "run", "first", "raw"].includes(property as string)) {
          return (...args: unknown[]) => {
            count();
            return value.apply(target, args);
          };
        }
        return value.bind(target);
      },
    });
    originals.set(proxy, statement);
    return proxy;
  };
  return new Proxy(db, {
    get(target, property) {
      if (property === "prepare") return (query: string) => counted(target.prepare(query));
      // The Worker opens a D1 session per request (src/db/session.ts): its statements are counted.
      if (property === "withSession") {
        return (start?: string) => counting((target as D1Database).withSession(start), count);
      }
      if (property === "batch") {
        return (statements: D1PreparedStatement[]) => {
          count();
          return target.batch(statements.map((s) => originals.get(s) ?? s));
        };
      }
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Round trips made after their request was answered, by the path of that request. */
let deferred: Record<string, number> = {};

export default {
  async fetch(request, env, ctx) {
    const path = new URL(request.url).pathname;
    if (path === DEFERRED_PATH) {
      const answer = Response.json(deferred);
      deferred = {};
      return answer;
    }
    let trips = 0;
    let answered = false;
    const DB = counting(env.DB, () => {
      if (answered) deferred[path] = (deferred[path] ?? 0) + 1;
      else trips += 1;
    });
    const ttl = request.headers.get(CACHE_TTL_HEADER);
    const countedEnv = { ...env, DB, ...(ttl === null ? {} : { VERIFY_CACHE_TTL_SECONDS: ttl }) };
    const response = await worker.fetch(request, countedEnv, ctx);
    answered = true;
    const counted = new Response(response.body, response);
    counted.headers.set(ROUND_TRIPS_HEADER, String(trips));
    return counted;
  },
} satisfies ExportedHandler<Bindings>;
