/**
 * Where the CPU goes, measured inside workerd. D1 is replayed from a recording (each statement's
 * real answer, captured once), so what is timed is the Worker's own work: the number billed
 * as CPU time. POST a ProfileRequest; the answer is microseconds per operation for each stage.
 */
import { desc } from "drizzle-orm";
import { Hono } from "hono";
import { jwtVerify } from "jose";
import { repoMembership, repoMembershipQuery } from "../src/access/membership";
import { createApp } from "../src/app";
import { verifierFor } from "../src/auth/verifier";
import { isWellFormedAiSecret } from "../src/crypto/credentials";
import { keyringFrom } from "../src/crypto/seal";
import { database } from "../src/db/client";
import { activeKeysOf, activeKeysRead } from "../src/db/key-rows";
import { asListed } from "../src/db/key-state";
import { readBatch } from "../src/db/prepared";
import { storageKeys } from "../src/db/schema";
import type { Bindings } from "../src/env";
import { storageKeyListColumns } from "../src/keys/routes";

// The storage key list's read, as src/keys/list.ts prepares it (READ and up may list).
const activeStorageKeys = activeKeysRead(storageKeys, storageKeyListColumns, [
  "READ",
  "WRITE",
  "ADMIN",
]);

import { log } from "../src/http/log";
import { precompiled } from "../src/http/precompiled";
import {
  CreateStorageKeyBodySchema,
  KeyListQuerySchema,
  RepoParamsSchema,
} from "../src/keys/schemas";
import { verifyAiSecret } from "../src/verify/ai";
import { KeyVerifier } from "../src/verify/entrypoint";
import { verifyS3Request } from "../src/verify/s3";
import {
  type VerifyAiRequest,
  VerifyAiRequestSchema,
  type VerifyS3Request,
  VerifyS3RequestSchema,
} from "../src/verify/schemas";
import { parseSignedRequest, stringToSign } from "../src/verify/sigv4";
import floor, { checkS3 } from "./floor";

interface ProfileRequest {
  token: string;
  userId: string;
  repoId: string;
  createRepoId: string;
  iterations: number;
  /** A gateway's token (scope keys:verify) and the two verification bodies. */
  gatewayToken: string;
  s3Body: unknown;
  aiBody: unknown;
  /**
   * Only run one request, `iterations` times, key remembered (bench/v8-profile.mjs records a V8
   * CPU profile meanwhile): a verification or /health, through the Worker or its floor.
   */
  loop?: { name: "verify_s3" | "verify_ai" | "health"; target: "worker" | "floor" };
}

type Recorded = Map<string, unknown>;

/** The API's KeyVerifier as a service binding offers it (bench/run.mjs binds it). */
interface RpcVerifier {
  verifyS3Request(input: unknown): Promise<{ valid?: boolean }>;
}

const encoder = new TextEncoder();

/**
 * A D1 binding that answers as the real one first did. Reads are keyed by statement and values;
 * writes by statement alone, so only the first insert really happens. A `first()` row is handed
 * out as a fresh object each time, as D1 does: the verification plane hangs the signing keys it
 * derives on the row it remembers, and a shared object would carry them into the next
 * "uncached" request.
 */
function replaying(realDb: D1Database, recorded: Recorded): D1Database {
  const statement = (sql: string, values: unknown[] = []): D1PreparedStatement => {
    const isRead = /^\s*select/i.test(sql);
    const answer = async (method: string) => {
      const key = `${method} ${sql} ${isRead ? JSON.stringify(values) : ""}`;
      if (!recorded.has(key)) {
        const real = realDb.prepare(sql).bind(...values) as unknown as Record<
          string,
          () => Promise<unknown>
        >;
        recorded.set(key, await (real[method] as () => Promise<unknown>)());
      }
      const result = recorded.get(key);
      return method === "first" ? structuredClone(result) : result;
    };
    return {
      bind: (...next: unknown[]) => statement(sql, next),
      all: () => answer("all"),
      run: () => answer("run"),
      raw: () => answer("raw"),
      first: () => answer("first"),
    } as unknown as D1PreparedStatement;
  };
  const replayed = {
    prepare: (sql: string) => statement(sql),
    batch: async (statements: D1PreparedStatement[]) => Promise.all(statements.map((s) => s.all())),
    getBookmark: () => "00000000-00000001-00000000-00000000000000000000000000000000",
  };
  // The Worker opens a D1 session per request (src/db/session.ts): the session is the replay too.
  return { ...replayed, withSession: () => replayed } as unknown as D1Database;
}

const noQueue = { send: async () => {}, sendBatch: async () => {} } as unknown as Queue;
const noWait = {
  waitUntil() {},
  passThroughOnException() {},
  props: {},
} as unknown as ExecutionContext;

async function timed(iterations: number, work: () => Promise<unknown> | unknown) {
  for (let i = 0; i < Math.min(50, iterations); i++) await work(); // warm the JIT
  const start = performance.now();
  for (let i = 0; i < iterations; i++) await work();
  return Number((((performance.now() - start) * 1000) / iterations).toFixed(1));
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

/** µs per operation of `a` and `b`, and `a`'s over `b`'s. */
interface Paired {
  worker: number;
  floor: number;
  ratio: number;
}

/**
 * `worker` against `floor` in short alternating runs (`pairs` of each, which first alternates),
 * each pair's ratio taken apart: the medians of µs and of the ratios. On a shared machine the
 * other load comes and goes; a run only shares it with its neighbour, so the ratio holds where
 * two long runs one after the other would each see other loads.
 */
async function paired(
  iterations: number,
  worker: () => Promise<unknown>,
  floor: () => Promise<unknown>,
  pairs = 15,
): Promise<Paired> {
  // Long enough that the clock's grain (workerd's performance.now() moves in whole
  // milliseconds) is a percent or two of a run.
  const per = Math.max(20, Math.round(iterations / 2));
  const w: number[] = [];
  const f: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < pairs; i++) {
    let a: number;
    let b: number;
    if (i % 2 === 0) {
      a = await timed(per, worker);
      b = await timed(per, floor);
    } else {
      b = await timed(per, floor);
      a = await timed(per, worker);
    }
    w.push(a);
    f.push(b);
    ratios.push(a / b);
  }
  const round = (value: number, digits: number) => Number(value.toFixed(digits));
  return {
    worker: round(median(w), 1),
    floor: round(median(f), 1),
    ratio: round(median(ratios), 3),
  };
}

async function ok(response: Response | Promise<Response>) {
  const r = await response;
  await r.arrayBuffer();
  if (!r.ok) throw new Error(`profile request answered ${r.status}`);
}

/** A verification must not only answer 200: it must say the key is valid. */
async function valid(response: Response | Promise<Response>) {
  const r = await response;
  const body = (await r.json()) as { valid?: boolean; code?: string };
  if (!r.ok || body.valid !== true) {
    throw new Error(`profile verification answered ${r.status} ${JSON.stringify(body)}`);
  }
}

type Timings = { worker: number; floor: number };
type VerifyTimings = {
  worker: { cached: number; uncached: number };
  floor: { cached: number; uncached: number };
};

const app = createApp();
// The framework alone: one route, no middleware, to set against our /health.
const bareHono = new Hono().get("/health", (c) => c.json({ status: "ok" }));

// The console as workerd gives it, and a request's log line, to time what writing one costs.
const realConsoleLog = console.log.bind(console);
const LOG_LINE = JSON.stringify({
  level: "info",
  message: "request",
  requestId: "7a1e9a3e-3c4b-4f7e-9a51-2f7c0d5b9e11",
  method: "POST",
  route: "/verify/s3",
  status: 200,
  durationMs: 0,
});

/**
 * Logging off while profiling: the Worker still builds each line (src/http/log.ts), but local
 * workerd's console (formatting it for Miniflare, which parses it in Node) is not production's
 * and would be most of what is timed. Its cost is timed apart (`console.log`, in `stages`).
 */
function loggingOff(): () => void {
  const { log, warn, error } = console;
  let lines = 0;
  const sink = () => {
    lines += 1;
  };
  Object.assign(console, { log: sink, warn: sink, error: sink });
  return () => {
    Object.assign(console, { log, warn, error });
    return lines;
  };
}

export default {
  async fetch(request, env) {
    const restore = loggingOff();
    try {
      return await profile(request, env);
    } finally {
      restore();
    }
  },
} satisfies ExportedHandler<Bindings>;

async function profile(request: Request, env: Bindings): Promise<Response> {
  const input = (await request.json()) as ProfileRequest;
  const { token, repoId, createRepoId, iterations: n } = input;
  const recorded: Recorded = new Map();
  const replayEnv = { ...env, DB: replaying(env.DB, recorded), AUDIT: noQueue };
  const headers = { Authorization: `Bearer ${token}` };
  const listUrl = `http://bench/repo/${repoId}/apikey`;
  const aiListUrl = `http://bench/repo/${repoId}/ai/apikey`;
  const createUrl = `http://bench/repo/${createRepoId}/apikey`;
  const createInit = {
    method: "POST",
    headers: { ...headers, "Content-Type": "application/json" },
    body: JSON.stringify({ name: "bench key", accessType: "READ" }),
  };
  const both = async (make: () => Request) => ({
    worker: await timed(n, () => ok(app.fetch(make(), replayEnv, noWait))),
    floor: await timed(n, () =>
      ok(floor.fetch(make() as Parameters<typeof floor.fetch>[0], replayEnv as never, noWait)),
    ),
  });

  const gatewayHeaders = {
    Authorization: `Bearer ${input.gatewayToken}`,
    "Content-Type": "application/json",
  };
  /** A gateway's verification as it arrives over HTTP: its body's length declared. */
  const verifyRequest = (path: string, body: unknown) => {
    const text = JSON.stringify(body);
    return new Request(`http://bench${path}`, {
      method: "POST",
      headers: { ...gatewayHeaders, "Content-Length": String(encoder.encode(text).byteLength) },
      body: text,
    });
  };
  if (input.loop) {
    const { name, target } = input.loop;
    const make =
      name === "health"
        ? () => new Request("http://bench/health")
        : () =>
            verifyRequest(
              `/verify/${name === "verify_s3" ? "s3" : "ai"}`,
              name === "verify_s3" ? input.s3Body : input.aiBody,
            );
    const check = name === "health" ? ok : valid;
    const serve = (request: Request) =>
      target === "worker"
        ? app.fetch(request, replayEnv, noWait)
        : name === "health"
          ? bareHono.fetch(request)
          : floor.fetch(request as Parameters<typeof floor.fetch>[0], replayEnv as never, noWait);
    return Response.json({ us: await timed(n, () => check(serve(make()))) });
  }

  // Whole requests, D1 replayed: the Worker's CPU time against the floor's.
  const requests: Record<string, Timings | VerifyTimings> = {
    list: await both(() => new Request(listUrl, { headers })),
    ai_list: await both(() => new Request(aiListUrl, { headers })),
    create: await both(() => new Request(createUrl, createInit)),
  };
  // Against bare Hono, not the floor: what our middleware chain adds to a trivial route.
  const health = await paired(
    n,
    () => ok(app.fetch(new Request("http://bench/health"), env, noWait)),
    () => ok(bareHono.fetch(new Request("http://bench/health"))),
  );
  requests.health = { worker: health.worker, floor: health.floor };
  /** Worker µs over floor µs, for the budgets on CPU (bench/run.mjs). */
  const cpuRatios: Record<string, number> = { health: health.ratio };

  // The verification plane, cached (the steady state: row and derived key remembered) and
  // uncached (VERIFY_CACHE_TTL_SECONDS = "0": every request reads its row and, for S3, opens
  // the sealed secret and derives the signing key again). Uncached runs first: a row
  // remembered under the default TTL would otherwise still answer with the TTL at 0.
  const uncachedEnv = { ...replayEnv, VERIFY_CACHE_TTL_SECONDS: "0" };
  const verification = async (path: string, body: unknown) => {
    const make = () => verifyRequest(path, body);
    const timeBoth = async (runEnv: typeof replayEnv) => ({
      worker: await timed(n, () => valid(app.fetch(make(), runEnv, noWait))),
      floor: await timed(n, () =>
        valid(floor.fetch(make() as Parameters<typeof floor.fetch>[0], runEnv as never, noWait)),
      ),
    });
    const uncached = await timeBoth(uncachedEnv);
    // The steady state, and what the budget is on: paired runs.
    const cached = await paired(
      n,
      () => valid(app.fetch(make(), replayEnv, noWait)),
      () =>
        valid(floor.fetch(make() as Parameters<typeof floor.fetch>[0], replayEnv as never, noWait)),
    );
    cpuRatios[path === "/verify/s3" ? "verify_s3" : "verify_ai"] = cached.ratio;
    return {
      worker: { cached: cached.worker, uncached: uncached.worker },
      floor: { cached: cached.floor, uncached: uncached.floor },
    };
  };
  requests.verify_s3 = await verification("/verify/s3", input.s3Body);
  requests.verify_ai = await verification("/verify/ai", input.aiBody);

  // The verifier over RPC, as the S3 gateway calls it (a service binding to the API's
  // KeyVerifier, key remembered), against the gateway floor's inline check of the same request
  // (bench/floor.ts checkS3): wall µs, the hop and the API isolate's work included.
  const keyVerifier = (env as { KEY_VERIFIER?: RpcVerifier }).KEY_VERIFIER;
  let rpc: Paired | undefined;
  if (keyVerifier) {
    const signed = input.s3Body as VerifyS3Request;
    const headerMap = new Map(
      Object.entries(signed.headers).map(([name, value]) => [name.toLowerCase(), value]),
    );
    const inline = {
      method: signed.method,
      url: signed.url,
      header: (name: string) => headerMap.get(name),
      headerNames: [...headerMap.keys()],
      requiredAccess: signed.requiredAccess,
    };
    rpc = await paired(
      n,
      async () => {
        const answer = await keyVerifier.verifyS3Request(signed);
        if (!answer.valid) throw new Error(`KeyVerifier answered ${JSON.stringify(answer)}`);
      },
      async () => {
        const check = await checkS3(replayEnv as never, noWait, inline, Date.now());
        if (!check.valid) throw new Error(`checkS3 answered ${check.code}`);
      },
    );
    cpuRatios.verify_rpc = rpc.ratio;
  }

  // The stages of the Worker's list request, one at a time.
  const secret = new TextEncoder().encode(env.JWT_SECRET);
  const hmac = await crypto.subtle.importKey(
    "raw",
    secret,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify"],
  );
  const joseOptions = {
    algorithms: ["HS256"],
    issuer: env.JWT_ISSUER,
    audience: env.JWT_AUDIENCE,
    clockTolerance: 30,
    requiredClaims: ["exp", "sub"],
  };
  // The list's reads as Drizzle would run them per request (build, bind, map rows), against
  // what the Worker does: SQL written once per isolate, rows aliased to their fields by SQLite.
  const db = database(replayEnv.DB);
  const drizzleQueries = () =>
    [
      repoMembershipQuery(db, input.userId, repoId),
      db
        .select(storageKeyListColumns)
        .from(storageKeys)
        .where(activeKeysOf(storageKeys, repoId))
        .orderBy(desc(storageKeys.createdAt), desc(storageKeys.id)),
    ] as const;
  const [, keys] = await db.batch(drizzleQueries());
  const listBody = { success: true, keys };
  const [, listedRows] = await readBatch(replayEnv.DB, [
    repoMembership(replayEnv.DB, { userId: input.userId, repoId }),
    activeStorageKeys(replayEnv.DB, { repoId, userId: input.userId }),
  ]);
  const verifier = verifierFor(env);
  const stages = {
    "jwt: jose, secret as bytes": await timed(n, () => jwtVerify(token, secret, joseOptions)),
    "jwt: jose, CryptoKey imported once": await timed(n, () => jwtVerify(token, hmac, joseOptions)),
    "jwt: verifier.verify, token remembered (src/auth/verifier.ts)": await timed(n, () =>
      verifier.verify(token),
    ),
    "zod: RepoParamsSchema": await timed(n, () => RepoParamsSchema.safeParse({ repoId })),
    "zod: CreateStorageKeyBodySchema": await timed(n, () =>
      CreateStorageKeyBodySchema.safeParse({ name: "bench key", accessType: "READ" }),
    ),
    "drizzle per request: build + toSQL": await timed(n, () =>
      drizzleQueries().map((q) => q.toSQL()),
    ),
    "drizzle per request: db.batch (build, bind, map 100 rows)": await timed(n, () =>
      db.batch(drizzleQueries()),
    ),
    "prepared reads: readBatch (bind only; as src/keys/routes.ts)": await timed(n, () =>
      readBatch(replayEnv.DB, [
        repoMembership(replayEnv.DB, { userId: input.userId, repoId }),
        activeStorageKeys(replayEnv.DB, { repoId, userId: input.userId }),
      ]),
    ),
    "json: stringify 100 keys": await timed(n, () => JSON.stringify(listBody)),
    "zod: KeyListQuerySchema, no query (the lists' query validator)": await timed(n, () =>
      KeyListQuerySchema.safeParse({}),
    ),
    "lifecycle: asListed over 100 rows (src/db/key-state.ts, a copy per row)": await timed(
      n,
      () => {
        const now = new Date().toISOString();
        return listedRows.map((row) => asListed(row, now));
      },
    ),
  };

  // The stages of a verification, the key remembered (as under load), one at a time.
  const s3Input = input.s3Body as VerifyS3Request;
  const aiInput = input.aiBody as VerifyAiRequest;
  const ignore = () => {};
  const s3Json = JSON.stringify(s3Input);
  const bodyRequest = () =>
    new Request("http://bench/verify/s3", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: s3Json,
    });
  const keyring = keyringFrom(env.ENCRYPTION_KEYS);
  const verifyStages = {
    "s3: verifyS3Request() alone (src/verify/s3.ts)": await timed(n, () =>
      verifyS3Request(replayEnv, s3Input, ignore),
    ),
    "s3: parseSignedRequest (src/verify/sigv4.ts)": await timed(n, () =>
      parseSignedRequest(s3Input),
    ),
    "s3: stringToSign (SHA-256 of the canonical request)": await timed(n, () =>
      stringToSign(parseSignedRequest(s3Input)),
    ),
    "s3: zod VerifyS3RequestSchema.safeParse": await timed(n, () =>
      VerifyS3RequestSchema.safeParse(s3Input, { reportInput: true }),
    ),
    "s3: its precompiled check (src/http/precompiled.ts, what the Worker runs)": await timed(
      n,
      () => precompiled(VerifyS3RequestSchema)?.(s3Input),
    ),
    "rpc: KeyVerifier.verifyS3Request called in this isolate (no hop, no structured clone)":
      await timed(n, () => new KeyVerifier(noWait, replayEnv).verifyS3Request(s3Input)),
    "log: console.log of one request line, local workerd (on while this is timed)": await timed(
      n,
      () => realConsoleLog(LOG_LINE),
    ),
    "log: the request line built and handed to console (console off)": await timed(n, () =>
      log.info("request", {
        requestId: crypto.randomUUID(),
        method: "POST",
        route: "/verify/s3",
        status: 200,
        durationMs: 0,
      }),
    ),
    "ai: verifyAiSecret() alone (src/verify/ai.ts)": await timed(n, () =>
      verifyAiSecret(replayEnv, aiInput, ignore),
    ),
    "ai: isWellFormedAiSecret (CRC-32 checksum)": await timed(n, () =>
      isWellFormedAiSecret(aiInput.secret),
    ),
    "ai: keyring.digests (HMAC per version)": await timed(n, () => keyring.digests(aiInput.secret)),
    "ai: zod VerifyAiRequestSchema.safeParse": await timed(n, () =>
      VerifyAiRequestSchema.safeParse(aiInput, { reportInput: true }),
    ),
    "body: new Request + request.json() (as the floor)": await timed(n, () => bodyRequest().json()),
    "body: new Request + stream chunks + TextDecoder + JSON.parse (json-body.ts before b332df7)":
      await timed(n, async () => {
        const chunks: Uint8Array[] = [];
        for await (const chunk of bodyRequest().body as unknown as AsyncIterable<Uint8Array>) {
          chunks.push(chunk);
        }
        JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(chunks[0]));
      }),
    "body: new Request + getReader() loop + TextDecoder + JSON.parse": await timed(n, async () => {
      const reader = (bodyRequest().body as ReadableStream<Uint8Array>).getReader();
      const chunks: Uint8Array[] = [];
      for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(r.value);
      JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(chunks[0]));
    }),
    "body: new Request + arrayBuffer + TextDecoder + JSON.parse (as json-body.ts now)": await timed(
      n,
      async () =>
        JSON.parse(
          new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(
            await bodyRequest().arrayBuffer(),
          ),
        ),
    ),
  };
  return Response.json({ requests, cpuRatios, rpc, stages, verifyStages });
}
