import { createApp } from "./app";
import { consumeAudit } from "./audit/consume";
import type { Bindings } from "./env";
import { scheduledReseal } from "./keys/reseal";

/** The verification plane for other Workers, over a service binding (src/verify/entrypoint.ts). */
export { KeyVerifier } from "./verify/entrypoint";

const app = createApp();

export default {
  fetch: app.fetch,
  queue: (batch, env) => consumeAudit(batch, env),
  // Cron trigger (wrangler.toml): moves sealed secrets onto the current encryption key.
  scheduled: (_controller, env, ctx) => ctx.waitUntil(scheduledReseal(env)),
} satisfies ExportedHandler<Bindings>;
