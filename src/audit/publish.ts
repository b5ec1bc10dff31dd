import type { Context } from "hono";
import { database, now } from "../db/client";
import type { AppEnv, Bindings } from "../env";
import { log } from "../http/log";
import type { AuditChanges, AuditEvent, AuditEventType } from "./event";
import { storeAuditEvents } from "./store";

export interface AuditDraft {
  type: AuditEventType;
  workspaceId: string;
  repoId?: string;
  targetId?: string;
  changes?: AuditChanges;
}

/**
 * Records a change that has committed. Delivery runs after the response (waitUntil), so a
 * slow queue never slows the caller, and a failed delivery never fails the request.
 */
export function publishAudit(c: Context<AppEnv>, draft: AuditDraft): void {
  const event: AuditEvent = {
    id: crypto.randomUUID(),
    at: now(),
    actorId: c.var.userId,
    requestId: c.var.requestId,
    ...(c.var.clientRequestId ? { clientRequestId: c.var.clientRequestId } : {}),
    // Set by Cloudflare's edge, which replaces any value a client sent.
    ip: c.req.header("CF-Connecting-IP") ?? null,
    userAgent: c.req.header("User-Agent") ?? null,
    ...draft,
  };
  c.executionCtx.waitUntil(deliverAudit(c.env, event));
}

/**
 * Queue first; if the send fails, straight into D1 (the consumer's insert is idempotent, so a
 * later duplicate is harmless); if that fails too, the platform's logs keep the event.
 */
export async function deliverAudit(
  env: Pick<Bindings, "AUDIT" | "DB">,
  event: AuditEvent,
): Promise<"queue" | "d1" | "log"> {
  try {
    await env.AUDIT.send(event, { contentType: "json" });
    return "queue";
  } catch (queueError) {
    try {
      await storeAuditEvents(database(env.DB), [event]);
      log.warn("audit queue send failed; event stored directly in D1", {
        eventId: event.id,
        requestId: event.requestId,
        error: queueError,
      });
      return "d1";
    } catch (storeError) {
      // The whole event, deliberately: its schema admits no secret, and this line is its last copy.
      log.error("audit event could not be delivered; kept here", {
        event,
        queueError,
        storeError,
      });
      return "log";
    }
  }
}
