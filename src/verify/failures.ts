import type { Bindings } from "../env";
import { FailureLimit } from "../http/failure-limit";

/** Failed verifications, per key and per client address (the VERIFY_FAILURES binding). */
const failures = new FailureLimit("verification");

/** The subjects a verification is counted against: the key it names and the client's address. */
export function subjectsOf(keyId: string | undefined, clientIp: string | undefined): string[] {
  const subjects: string[] = [];
  if (keyId) subjects.push(`key:${keyId}`);
  if (clientIp) subjects.push(`ip:${clientIp}`);
  return subjects;
}

export const RATE_LIMITED_MESSAGE = "Too many failed verifications; slow down";

/**
 * The failure limit as one verification meets it. It only ever changes how a failure is
 * answered: a correct credential is never refused by it, whoever else failed from the same
 * address or with the same key id. A blocked subject's failures are answered RATE_LIMITED
 * without being counted (no Rate Limiting call), and the verifier skips what work it can for
 * them (`blocked`).
 */
export interface FailureLimitCheck {
  /** Whether a subject is over its limit right now. */
  readonly blocked: boolean;
  /** The code to answer a failure with: `code`, or RATE_LIMITED once a subject is over. */
  failed<Code extends string>(code: Code): Promise<Code | "RATE_LIMITED">;
}

export function failureLimit(env: Bindings, subjects: string[], now: number): FailureLimitCheck {
  const blocked = subjects.some((subject) => failures.waitFor(subject, now) > 0);
  return {
    blocked,
    async failed(code) {
      if (blocked) return "RATE_LIMITED";
      const over = await failures.count(env.VERIFY_FAILURES, subjects, now, code);
      return over ? "RATE_LIMITED" : code;
    },
  };
}

/** For tests: forget every block. */
export function clearBlocks(): void {
  failures.clear();
}
