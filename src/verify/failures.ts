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

/** Whether any subject is refused right now: answered RATE_LIMITED with no lookup and no crypto. */
export function isBlocked(subjects: string[], now: number): boolean {
  return subjects.some((subject) => failures.waitFor(subject, now) > 0);
}

/** Counts a failed verification (its code) against each subject; true when one is now refused. */
export function countFailure(
  env: Bindings,
  subjects: string[],
  code: string,
  now: number,
): Promise<boolean> {
  return failures.count(env.VERIFY_FAILURES, subjects, now, code);
}

/** For tests: forget every block. */
export function clearBlocks(): void {
  failures.clear();
}
