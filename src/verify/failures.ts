import type { Bindings } from "../env";
import { log } from "../http/log";

/** How long a subject stays refused once its failures hit the limit (the binding's period). */
const BLOCK_MS = 60_000;
const MAX_BLOCKED = 10_000;

/** Subjects ("key:<id>", "ip:<address>") this isolate saw exceed the failure limit, until when. */
const blocked = new Map<string, number>();

/** The subjects a verification is counted against: the key it names and the client's address. */
export function subjectsOf(keyId: string | undefined, clientIp: string | undefined): string[] {
  const subjects: string[] = [];
  if (keyId) subjects.push(`key:${keyId}`);
  if (clientIp) subjects.push(`ip:${clientIp}`);
  return subjects;
}

/** Whether any subject is refused right now: answered RATE_LIMITED with no lookup and no crypto. */
export function isBlocked(subjects: string[], now: number): boolean {
  for (const subject of subjects) {
    const until = blocked.get(subject);
    if (until === undefined) continue;
    if (now < until) return true;
    blocked.delete(subject);
  }
  return false;
}

/**
 * Counts a failed verification against each subject with the Workers Rate Limiting binding
 * (VERIFY_FAILURES, shared by the isolates of a location). Resolves true when a subject is now
 * over its limit: it is refused for the binding's period and the event is logged once, as
 * structured JSON with the subject only (an access key id or an address, never a secret).
 * Successes are never counted, so an honest gateway's traffic costs the limiter nothing.
 */
export async function countFailure(
  env: Bindings,
  subjects: string[],
  code: string,
  now: number,
): Promise<boolean> {
  const limiter = env.VERIFY_FAILURES;
  if (!limiter || subjects.length === 0) return false;
  const outcomes = await Promise.all(subjects.map((key) => limiter.limit({ key })));
  let limited = false;
  outcomes.forEach((outcome, i) => {
    if (outcome.success) return;
    limited = true;
    const subject = subjects[i] as string;
    if (!blocked.has(subject)) {
      log.warn("repeated verification failures: refused for a minute", {
        subject,
        lastFailure: code,
      });
    }
    if (blocked.size >= MAX_BLOCKED) {
      const oldest = blocked.keys().next().value;
      if (oldest !== undefined) blocked.delete(oldest);
    }
    blocked.set(subject, now + BLOCK_MS);
  });
  return limited;
}

/** For tests: forget every block. */
export function clearBlocks(): void {
  blocked.clear();
}
