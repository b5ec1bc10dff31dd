import { and, desc, eq, type SQL, sql } from "drizzle-orm";
import * as z from "zod";
import {
  asMember,
  readableRepo,
  readableWorkspace,
  repoMembershipQuery,
  workspaceMembershipQuery,
} from "../access/membership";
import { authorize, rolesThatMay } from "../access/policy";
import { type Database, database } from "../db/client";
import { auditEvents } from "../db/schema";
import { defineOperation, route } from "../http/operation";
import { CursorParamSchema, decodeCursor, encodeCursor, PageLimitSchema } from "../http/pages";
import { RepoParamsSchema } from "../keys/schemas";
import { WorkspaceParamsSchema } from "../workspaces/schemas";
import { AuditChangesSchema, AuditEventSchema } from "./event";

const tags = ["Audit"];

export const AuditQuerySchema = z.object({
  limit: PageLimitSchema.default(50).meta({
    examples: [50],
    description: "Events per page, 1 to 100 (default 50)",
  }),
  cursor: CursorParamSchema.optional(),
});

export const AuditPageSchema = z
  .object({
    success: z.literal(true),
    events: z.array(AuditEventSchema.extend({ deadLettered: z.boolean() })),
    nextCursor: z.string().nullable().meta({ description: "null on the last page" }),
  })
  .meta({ id: "AuditPage" });

export const listRepoAudit = defineOperation({
  method: "get",
  path: "/repo/{repoId}/audit",
  operationId: "listRepoAudit",
  summary: "A repository's audit events, newest first (workspace ADMIN)",
  tags,
  params: RepoParamsSchema,
  query: AuditQuerySchema,
  success: { status: 200, schema: AuditPageSchema, description: "One page of events" },
});

export const listWorkspaceAudit = defineOperation({
  method: "get",
  path: "/workspace/{workspaceId}/audit",
  operationId: "listWorkspaceAudit",
  summary: "A workspace's audit events, newest first (ADMIN)",
  tags,
  params: WorkspaceParamsSchema,
  query: AuditQuerySchema,
  success: { status: 200, schema: AuditPageSchema, description: "One page of events" },
});

/** Keyset pagination on (at, id) descending: no repeats and no gaps across pages. */
function pageQuery(db: Database, scope: SQL, limit: number, cursor: string | undefined) {
  const after = cursor ? decodeCursor(cursor) : undefined;
  return db
    .select()
    .from(auditEvents)
    .where(
      and(
        scope,
        // A row value: SQLite seeks the (…, at, id) index to the cursor, where the equivalent
        // `at < ? OR (at = ? AND id < ?)` read every newer event of the trail first.
        after
          ? sql`(${auditEvents.at}, ${auditEvents.id}) < (${after[0]}, ${after[1]})`
          : undefined,
      ),
    )
    .orderBy(desc(auditEvents.at), desc(auditEvents.id))
    .limit(limit + 1);
}

type AuditRow = typeof auditEvents.$inferSelect;

function toPage(rows: AuditRow[], limit: number) {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    success: true as const,
    events: page.map((row) => ({
      id: row.id,
      type: row.type as z.infer<typeof AuditEventSchema>["type"],
      at: row.at,
      actorId: row.actorId,
      workspaceId: row.workspaceId,
      ...(row.repoId ? { repoId: row.repoId } : {}),
      ...(row.targetId ? { targetId: row.targetId } : {}),
      requestId: row.requestId,
      ...(row.clientRequestId ? { clientRequestId: row.clientRequestId } : {}),
      ip: row.ip,
      userAgent: row.userAgent,
      ...(row.changes ? { changes: AuditChangesSchema.parse(JSON.parse(row.changes)) } : {}),
      deadLettered: row.deadLettered,
    })),
    nextCursor: rows.length > limit && last ? encodeCursor(last.at, last.id) : null,
  };
}

// Only those who may read a trail read its rows: a refused read touches no event, so a repo or
// workspace the caller cannot reach costs what one that does not exist costs.
const REPO_AUDIT_READERS = rolesThatMay("repo.readAudit");
const WORKSPACE_AUDIT_READERS = rolesThatMay("workspace.readAudit");

export const auditRoutes = [
  route(listRepoAudit, async (c, input) => {
    const { repoId } = input.params;
    const { limit, cursor } = input.query;
    const userId = c.var.userId;
    const db = database(c.env.DB);
    const [membership, rows] = await db.batch([
      repoMembershipQuery(db, userId, repoId),
      pageQuery(
        db,
        eq(auditEvents.repoId, readableRepo(repoId, userId, REPO_AUDIT_READERS)),
        limit,
        cursor,
      ),
    ]);
    authorize(asMember(userId, membership), "repo.readAudit");
    return toPage(rows, limit);
  }),
  route(listWorkspaceAudit, async (c, input) => {
    const { workspaceId } = input.params;
    const { limit, cursor } = input.query;
    const userId = c.var.userId;
    const db = database(c.env.DB);
    const [membership, rows] = await db.batch([
      workspaceMembershipQuery(db, userId, workspaceId),
      pageQuery(
        db,
        eq(
          auditEvents.workspaceId,
          readableWorkspace(workspaceId, userId, WORKSPACE_AUDIT_READERS),
        ),
        limit,
        cursor,
      ),
    ]);
    authorize(asMember(userId, membership), "workspace.readAudit");
    return toPage(rows, limit);
  }),
];
