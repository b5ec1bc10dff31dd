import type { Bindings } from "../env";
import { log } from "../http/log";
import { attributionOf } from "./attribution";

/** Outcomes are gathered this long before one batched write (at most one flush per isolate). */
export const FLUSH_AFTER_MS = 2_000;
/**
 * Distinct (kind, key or caller, minute, code, transport) counts one isolate holds before a
 * flush. Beyond it a verification is counted as lost, never held: memory stays bounded whatever
 * a flood of distinct callers does.
 */
export const MAX_ENTRIES = 5_000;
/** The caller an RPC verification is counted under when it names no key. */
export const RPC_CALLER = "rpc";
/** The pseudo-caller and code under which lost counts are written once D1 takes them again. */
export const LOST_CALLER = "usage-recorder";
export const LOST_CODE = "USAGE_FLUSH_LOST";
/**
 * The code an AI key's provider tokens are counted under (src/ai-proxy/tokens.ts): rows with n = 0
 * and the tokens in their own columns, so no count of verifications or refusals ever includes them.
 */
export const TOKENS_CODE = "TOKENS";

export type UsageKind = "storage" | "ai";
export type Transport = "http" | "rpc";

/** Who asked for a verification, and how. */
export interface Asker {
  transport: Transport;
  /** A gateway token's subject over HTTP; RPC_CALLER over the binding. */
  caller: string;
}

interface Entry {
  kind: UsageKind;
  /** '' when the outcome names no key. */
  keyId: string;
  repoId: string;
  /** '' when attributed to a key. */
  caller: string;
  /** The minute's start, Unix seconds. */
  t: number;
  code: string;
  transport: Transport;
  n: number;
  /** Provider tokens (TOKENS_CODE entries only; 0 otherwise). */
  inputTokens: number;
  outputTokens: number;
  /** Token reports gathered in this entry: what is lost if it is (its n is 0). */
  reports: number;
  /** Whether a flush already failed with this entry in it. */
  retried: boolean;
}

let pending = new Map<string, Entry>();
/** Verifications not counted (a flush failed twice, or memory was full), until written down. */
let lost = 0;
/** The tokens of the token reports counted in `lost`. */
let lostTokens = { input: 0, output: 0 };
let flushing: Promise<void> | undefined;

const UPSERT = `INSERT INTO key_usage
  (scale, key_id, t, kind, code, transport, caller, repo_id, n, input_tokens, output_tokens)
  VALUES ('minute', ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
  ON CONFLICT (scale, key_id, t, kind, code, transport, caller) DO UPDATE SET n = n + excluded.n,
  input_tokens = input_tokens + excluded.input_tokens,
  output_tokens = output_tokens + excluded.output_tokens`;

export const recordingOn = (env: Pick<Bindings, "USAGE_RECORDING">) =>
  env.USAGE_RECORDING?.trim().toLowerCase() !== "off";

/** Counts an entry as lost: its verifications, or its token reports and their tokens. */
function lose(entry: Entry): void {
  lost += entry.n + entry.reports;
  lostTokens.input += entry.inputTokens;
  lostTokens.output += entry.outputTokens;
}

function add(entry: Entry): void {
  const id = `${entry.kind}|${entry.keyId}|${entry.caller}|${entry.t}|${entry.code}|${entry.transport}`;
  const held = pending.get(id);
  if (held) {
    held.n += entry.n;
    held.inputTokens += entry.inputTokens;
    held.outputTokens += entry.outputTokens;
    held.reports += entry.reports;
    held.retried ||= entry.retried;
  } else if (pending.size >= MAX_ENTRIES) {
    lose(entry);
  } else {
    pending.set(id, entry);
  }
}

/** Writes what is pending now, in one D1 batch. */
export async function flushUsage(env: Pick<Bindings, "DB">): Promise<void> {
  const entries = [...pending.values()];
  pending = new Map();
  const lostNow = lost;
  const lostTokensNow = lostTokens;
  lost = 0;
  lostTokens = { input: 0, output: 0 };
  if (entries.length === 0 && lostNow === 0) return;
  const minute = Math.floor(Date.now() / 60_000) * 60;
  const statements = entries.map((e) =>
    env.DB.prepare(UPSERT).bind(
      e.keyId,
      e.t,
      e.kind,
      e.code,
      e.transport,
      e.caller,
      e.repoId,
      e.n,
      e.inputTokens,
      e.outputTokens,
    ),
  );
  // The loss becomes a count anyone may query (GET …/usage/unattributed), as soon as D1 takes it;
  // lost token reports count there too, their tokens in the row's token columns.
  if (lostNow > 0) {
    statements.push(
      env.DB.prepare(UPSERT).bind(
        "",
        minute,
        "storage",
        LOST_CODE,
        "http",
        LOST_CALLER,
        "",
        lostNow,
        lostTokensNow.input,
        lostTokensNow.output,
      ),
    );
  }
  try {
    await env.DB.batch(statements);
  } catch (error) {
    // Each entry gets one more try, with the next flush; after that it is lost, and said so.
    const before = lost;
    lost += lostNow;
    lostTokens.input += lostTokensNow.input;
    lostTokens.output += lostTokensNow.output;
    for (const entry of entries) {
      if (entry.retried) lose(entry);
      else add({ ...entry, retried: true });
    }
    log.error("recording verification usage failed", {
      keys: entries.length,
      count: lost - before,
      reason: error,
    });
  }
}

async function flushLater(env: Pick<Bindings, "DB">): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, FLUSH_AFTER_MS));
  flushing = undefined;
  await flushUsage(env);
}

/** The outcome of one verification: its code, and the key it is counted under if any. */
export interface Outcome {
  code: string;
}

/**
 * Counts one verification's outcome (its answer's code) in this isolate's memory: under the key
 * it proved or named (src/usage/attribution.ts), a temporary credential under its parent, and
 * otherwise under the caller that asked. Written off the request path (waitUntil), gathered
 * for FLUSH_AFTER_MS into one batched upsert: never a D1 write per verification.
 */
export function recordVerification(
  env: Pick<Bindings, "DB" | "USAGE_RECORDING">,
  waitUntil: (promise: Promise<unknown>) => void,
  kind: UsageKind,
  asker: Asker,
  answer: Outcome,
  now = Date.now(),
): void {
  if (!recordingOn(env)) return;
  const attributed = attributionOf(answer);
  hold(env, waitUntil, {
    kind,
    keyId: attributed?.keyId ?? "",
    repoId: attributed?.repoId ?? "",
    caller: attributed ? "" : asker.caller,
    t: Math.floor(now / 60_000) * 60,
    code: answer.code,
    transport: asker.transport,
    n: 1,
    inputTokens: 0,
    outputTokens: 0,
    reports: 0,
    retried: false,
  });
}

/** One provider answer's tokens, counted against the AI key that made the call. */
export interface Tokens {
  keyId: string;
  repoId: string;
  inputTokens: number;
  outputTokens: number;
}

const tokenCount = (value: number) => (Number.isFinite(value) && value > 0 ? Math.floor(value) : 0);

/**
 * Counts one provider answer's tokens (src/ai-proxy/tokens.ts) beside the key's verifications:
 * gathered and flushed exactly as they are (one batched upsert per flush), under TOKENS_CODE
 * with no verification counted, over the RPC transport the AI gateway's calls come by.
 */
export function recordTokens(
  env: Pick<Bindings, "DB" | "USAGE_RECORDING">,
  waitUntil: (promise: Promise<unknown>) => void,
  tokens: Tokens,
  now = Date.now(),
): void {
  if (!recordingOn(env)) return;
  const inputTokens = tokenCount(tokens.inputTokens);
  const outputTokens = tokenCount(tokens.outputTokens);
  if (inputTokens === 0 && outputTokens === 0) return;
  hold(env, waitUntil, {
    kind: "ai",
    keyId: tokens.keyId,
    repoId: tokens.repoId,
    caller: "",
    t: Math.floor(now / 60_000) * 60,
    code: TOKENS_CODE,
    transport: "rpc",
    n: 0,
    inputTokens,
    outputTokens,
    reports: 1,
    retried: false,
  });
}

/** Holds an entry until the flush this isolate has scheduled (scheduling one if none is). */
function hold(
  env: Pick<Bindings, "DB">,
  waitUntil: (promise: Promise<unknown>) => void,
  entry: Entry,
): void {
  const before = lost;
  add(entry);
  // Once per flush window: a flood must not become a flood of log lines.
  if (before === 0 && lost > 0) {
    log.error("verification usage not recorded: too many distinct counts held", {
      count: MAX_ENTRIES,
    });
  }
  if (!flushing) {
    flushing = flushLater(env);
    waitUntil(flushing);
  }
}

/** For tests: what this isolate holds and has lost, and a way to start clean. */
export const usageMemory = {
  held: () => pending.size,
  lost: () => lost,
  lostTokens: () => ({ ...lostTokens }),
  /** Waits for the flush already scheduled, if any. */
  settled: () => flushing ?? Promise.resolve(),
  clear: () => {
    pending = new Map();
    lost = 0;
    lostTokens = { input: 0, output: 0 };
  },
};
