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
  /** Who made the change when it is not the signed-in caller (e.g. GitHub's secret scanning). */
  actorId?: string;
}

/**
 * Records a change that has committed. Delivery runs after the response (waitUntil), so a
 * slow queue never slows the caller, and a failed delivery never fails the request.
 */
export function publishAudit(c: Context<AppEnv>, draft: AuditDraft): void {
  c.executionCtx.waitUntil(deliverAudit(c.env, auditEventOf(c, draft)));
}

/**
 * Records many changes that have committed (a leak report's keys), sent to the queue 100 at a
 * time (its batch limit), each batch falling back as one event does.
 */
export function publishAudits(c: Context<AppEnv>, drafts: AuditDraft[]): void {
  const events = drafts.map((draft) => auditEventOf(c, draft));
  c.executionCtx.waitUntil(
    (async () => {
      for (let start = 0; start < events.length; start += 100) {
        await deliverAuditBatch(c.env, events.slice(start, start + 100));
      }
    })(),
  );
}

function auditEventOf(c: Context<AppEnv>, { actorId, ...draft }: AuditDraft): AuditEvent {
  return {
    id: crypto.randomUUID(),
    at: now(),
    actorId: actorId ?? c.var.userId,
    requestId: c.var.requestId,
    ...(c.var.clientRequestId ? { clientRequestId: c.var.clientRequestId } : {}),
    // Set by Cloudflare's edge, which replaces any value a client sent.
    ip: c.req.header("CF-Connecting-IP") ?? null,
    userAgent: c.req.header("User-Agent") ?? null,
    ...draft,
  };
}

async function deliverAuditBatch(env: Pick<Bindings, "AUDIT" | "DB">, events: AuditEvent[]) {
  if (events.length === 1) return void (await deliverAudit(env, events[0] as AuditEvent));
  try {
    await env.AUDIT.sendBatch(events.map((body) => ({ body, contentType: "json" as const })));
  } catch (queueError) {
    try {
      await storeAuditEvents(database(env.DB), events);
      log.warn("audit queue batch send failed; events stored directly in D1", {
        count: events.length,
        error: queueError,
      });
    } catch (storeError) {
      log.error("audit events could not be delivered; kept here", {
        events,
        queueError,
        storeError,
      });
    }
  }
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
