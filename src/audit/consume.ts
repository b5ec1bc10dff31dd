import { database } from "../db/client";
import type { Bindings } from "../env";
import { log } from "../http/log";
import { type AuditEvent, AuditEventSchema } from "./event";
import { storeAuditEvents } from "./store";

export const DEFAULT_DEAD_LETTER_QUEUE = "flashgate-audit-dlq";
const MAX_RETRY_DELAY_SECONDS = 300;

/** 5 s, 10 s, 20 s … capped at 5 minutes. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(5 * 2 ** Math.max(0, attempts - 1), MAX_RETRY_DELAY_SECONDS);
}

/**
 * Stores a batch of audit events in D1 with one batched insert. Messages that can never be
 * valid are acked and logged, so they cannot poison the batch; if D1 fails, the valid ones are
 * retried with backoff (and reach the dead-letter queue, which is consumed the same way).
 */
export async function consumeAudit(batch: MessageBatch<unknown>, env: Bindings): Promise<void> {
  const deadLettered = batch.queue === (env.AUDIT_DEAD_LETTER_QUEUE || DEFAULT_DEAD_LETTER_QUEUE);
  const valid: { message: Message<unknown>; event: AuditEvent }[] = [];
  for (const message of batch.messages) {
    const parsed = AuditEventSchema.safeParse(message.body);
    if (parsed.success) {
      valid.push({ message, event: parsed.data });
      continue;
    }
    // The body is not logged: a malformed message is no place to trust that nothing secret is in it.
    log.error("audit message dropped: not a valid audit event", {
      queue: batch.queue,
      messageId: message.id,
      issues: parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`),
    });
    message.ack();
  }
  if (valid.length === 0) return;

  try {
    await storeAuditEvents(
      database(env.DB),
      valid.map(({ event }) => event),
      deadLettered,
    );
  } catch (error) {
    log.error("audit events not stored; retrying", {
      queue: batch.queue,
      count: valid.length,
      error,
      // On the dead-letter queue a failure may be the last chance: keep the events in the logs.
      ...(deadLettered ? { events: valid.map(({ event }) => event) } : {}),
    });
    for (const { message } of valid) {
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    }
    return;
  }
  for (const { message } of valid) message.ack();
}
