import { createApp } from "./app";
import { consumeAudit } from "./audit/consume";
import type { Bindings } from "./env";

const app = createApp();

export default {
  fetch: app.fetch,
  queue: (batch, env) => consumeAudit(batch, env),
} satisfies ExportedHandler<Bindings>;
