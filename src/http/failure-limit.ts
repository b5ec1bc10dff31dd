import { log } from "./log";

/**
 * Failures counted per subject ("key:<access key id>", "ip:<address>") with a Workers Rate
 * Limiting binding, shared by the isolates of a location, and the subjects this isolate saw go
 * over it: refused until the binding's period ends, without a lookup or any crypto. Successes
 * are never counted, so honest traffic costs the limiter nothing.
 */
export class FailureLimit {
  readonly #blocked = new Map<string, number>();

  constructor(
    /** What fails, for the log line: "authentication", "verification". */
    readonly what: string,
    /** The binding's period: how long a subject over the limit stays refused. */
    readonly periodMs = 60_000,
    readonly maxRemembered = 10_000,
  ) {}

  /** Seconds `subject` must still wait, or 0 when it is not refused. */
  waitFor(subject: string, now: number): number {
    const until = this.#blocked.get(subject);
    if (until === undefined) return 0;
    if (now < until) return Math.ceil((until - now) / 1000);
    this.#blocked.delete(subject);
    return 0;
  }

  /**
   * Counts one failure against each subject. Resolves true when one is now over the limit: it is
   * refused for the period, and logged once (the subject only, never a secret).
   */
  async count(
    limiter: RateLimit | undefined,
    subjects: string[],
    now: number,
    lastFailure?: string,
  ): Promise<boolean> {
    if (!limiter || subjects.length === 0) return false;
    const outcomes = await Promise.all(subjects.map((key) => limiter.limit({ key })));
    let limited = false;
    outcomes.forEach((outcome, i) => {
      if (outcome.success) return;
      limited = true;
      const subject = subjects[i] as string;
      if (!this.#blocked.has(subject)) {
        log.warn(`repeated ${this.what} failures: refused for a minute`, { subject, lastFailure });
        if (this.#blocked.size >= this.maxRemembered) {
          const oldest = this.#blocked.keys().next().value;
          if (oldest !== undefined) this.#blocked.delete(oldest);
        }
      }
      this.#blocked.set(subject, now + this.periodMs);
    });
    return limited;
  }

  /** For tests: forget every block. */
  clear(): void {
    this.#blocked.clear();
  }
}
