import { getTableColumns } from "drizzle-orm";
import type { Database } from "../db/client";
import { now } from "../db/client";
import { auditEvents } from "../db/schema";
import type { AuditEvent } from "./event";

// D1 binds at most 100 parameters per statement (local SQLite allows far more, so only the
// deployed service would fail): as many rows as fit, from the table's own column count.
export const D1_MAX_BOUND_PARAMETERS = 100;
export const ROWS_PER_STATEMENT = Math.floor(
  D1_MAX_BOUND_PARAMETERS / Object.keys(getTableColumns(auditEvents)).length,
);

/**
 * Stores events in one D1 round trip. Keyed by event id with INSERT OR IGNORE, so a
 * redelivered or re-sent event is stored once.
 */
export async function storeAuditEvents(
  db: Database,
  events: AuditEvent[],
  deadLettered = false,
): Promise<void> {
  if (events.length === 0) return;
  const storedAt = now();
  const rows = events.map((event) => ({
    id: event.id,
    type: event.type,
    at: event.at,
    actorId: event.actorId,
    workspaceId: event.workspaceId,
    repoId: event.repoId ?? null,
    targetId: event.targetId ?? null,
    requestId: event.requestId,
    clientRequestId: event.clientRequestId ?? null,
    ip: event.ip,
    userAgent: event.userAgent,
    changes: event.changes ? JSON.stringify(event.changes) : null,
    deadLettered,
    storedAt,
  }));
  const statements = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    statements.push(
      db
        .insert(auditEvents)
        .values(rows.slice(i, i + ROWS_PER_STATEMENT))
        .onConflictDoNothing(),
    );
  }
  const [first, ...rest] = statements;
  if (first) await db.batch([first, ...rest]);
}
