import { createApp } from "./app";
import { consumeAudit } from "./audit/consume";
import { scheduledAuditPurge } from "./audit/retention";
import type { Bindings } from "./env";
import { scheduledReseal } from "./keys/reseal";

/** The verification plane for other Workers, over a service binding (src/verify/entrypoint.ts). */
export { KeyVerifier } from "./verify/entrypoint";

const app = createApp();

async function bothScheduled(env: Bindings): Promise<void> {
  const outcomes = await Promise.allSettled([scheduledReseal(env), scheduledAuditPurge(env)]);
  // A failure still fails the run, so the platform's cron history shows it.
  for (const outcome of outcomes) if (outcome.status === "rejected") throw outcome.reason;
}

export default {
  fetch: app.fetch,
  queue: (batch, env) => consumeAudit(batch, env),
  // Cron trigger (wrangler.toml): moves sealed secrets onto the current encryption key, and
  // purges audit events past AUDIT_RETENTION_DAYS. Each runs whether or not the other fails.
  scheduled: (_controller, env, ctx) => ctx.waitUntil(bothScheduled(env)),
} satisfies ExportedHandler<Bindings>;
