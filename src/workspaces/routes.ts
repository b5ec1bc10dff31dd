import { and, asc, desc, eq, ne, or, sql } from "drizzle-orm";
import { asMember, workspaceMembershipQuery } from "../access/membership";
import { authorize } from "../access/policy";
import type { Role } from "../access/roles";
import { publishAudit } from "../audit/publish";
import { database, now } from "../db/client";
import { workspaceMembers, workspaces } from "../db/schema";
import { ApiError } from "../http/error";
import { defineRoute, jsonBody, jsonResponse } from "../http/route";
import { newRouter } from "../http/router";
import { MessageResponseSchema } from "../http/schemas";
import {
  AddMemberBodySchema,
  CreatedWorkspaceSchema,
  CreateWorkspaceBodySchema,
  MemberListSchema,
  MemberParamsSchema,
  UpdateMemberBodySchema,
  WorkspaceListSchema,
  WorkspaceParamsSchema,
} from "./schemas";

const tags = ["Workspaces"];
const notAMember = () => new ApiError("NOT_FOUND", "That user is not a member of this workspace");
const lastAdmin = () =>
  new ApiError(
    "CONFLICT",
    "A workspace must keep at least one ADMIN; make another member ADMIN first",
  );

export const createWorkspace = defineRoute({
  method: "post",
  path: "/workspace",
  operationId: "createWorkspace",
  summary: "Create a workspace; the caller becomes its ADMIN",
  tags,
  request: { body: jsonBody(CreateWorkspaceBodySchema) },
  responses: { 200: jsonResponse(CreatedWorkspaceSchema, "Created") },
});

export const listWorkspaces = defineRoute({
  method: "get",
  path: "/workspace",
  operationId: "listWorkspaces",
  summary: "The caller's workspaces and role in each, newest first",
  tags,
  responses: { 200: jsonResponse(WorkspaceListSchema, "The caller's workspaces") },
});

export const listMembers = defineRoute({
  method: "get",
  path: "/workspace/{workspaceId}/users",
  operationId: "listWorkspaceUsers",
  summary: "A workspace's members (any member may look)",
  tags,
  request: { params: WorkspaceParamsSchema },
  responses: { 200: jsonResponse(MemberListSchema, "Members, oldest first") },
});

export const addMember = defineRoute({
  method: "post",
  path: "/workspace/{workspaceId}/users",
  operationId: "addWorkspaceUser",
  summary: "Add a member (ADMIN only)",
  tags,
  request: { params: WorkspaceParamsSchema, body: jsonBody(AddMemberBodySchema) },
  responses: { 200: jsonResponse(MessageResponseSchema, "Added") },
  errors: [409],
});

export const updateMember = defineRoute({
  method: "put",
  path: "/workspace/{workspaceId}/users/{userId}",
  operationId: "updateWorkspaceUser",
  summary: "Change a member's role (ADMIN only; the last ADMIN cannot be demoted)",
  tags,
  request: { params: MemberParamsSchema, body: jsonBody(UpdateMemberBodySchema) },
  responses: { 200: jsonResponse(MessageResponseSchema, "Updated") },
  errors: [404, 409],
});

export const removeMember = defineRoute({
  method: "delete",
  path: "/workspace/{workspaceId}/users/{userId}",
  operationId: "removeWorkspaceUser",
  summary: "Remove a member (ADMIN only; the last ADMIN cannot be removed)",
  tags,
  request: { params: MemberParamsSchema },
  responses: { 200: jsonResponse(MessageResponseSchema, "Removed") },
  errors: [404, 409],
});

/** The target member's row in the workspace (its role), or none. */
function memberRowQuery(db: ReturnType<typeof database>, workspaceId: string, userId: string) {
  return db
    .select({ role: workspaceMembers.role })
    .from(workspaceMembers)
    .where(and(eq(workspaceMembers.workspaceId, workspaceId), eq(workspaceMembers.userId, userId)));
}

/** True while another ADMIN than `userId` remains: evaluated inside the write, so it is race-free. */
function anotherAdminRemains(workspaceId: string, userId: string) {
  return sql`EXISTS (SELECT 1 FROM ${workspaceMembers} WHERE ${workspaceMembers.workspaceId} = ${workspaceId} AND ${workspaceMembers.role} = 'ADMIN' AND ${workspaceMembers.userId} <> ${userId})`;
}

export const workspaceRoutes = newRouter()
  .openapi(createWorkspace, async (c) => {
    const { name } = c.req.valid("json");
    const userId = c.var.userId;
    const db = database(c.env.DB);
    const id = crypto.randomUUID();
    const at = now();
    await db.batch([
      db.insert(workspaces).values({ id, name, createdBy: userId, createdAt: at }),
      db.insert(workspaceMembers).values({ workspaceId: id, userId, role: "ADMIN", createdAt: at }),
    ]);
    publishAudit(c, {
      type: "workspace.created",
      workspaceId: id,
      targetId: id,
      changes: { name: { after: name } },
    });
    return c.json({ success: true as const, id, name }, 200);
  })
  .openapi(listWorkspaces, async (c) => {
    const db = database(c.env.DB);
    const rows = await db
      .select({
        id: workspaces.id,
        name: workspaces.name,
        role: workspaceMembers.role,
        createdAt: workspaces.createdAt,
      })
      .from(workspaceMembers)
      .innerJoin(workspaces, eq(workspaces.id, workspaceMembers.workspaceId))
      .where(eq(workspaceMembers.userId, c.var.userId))
      .orderBy(desc(workspaces.createdAt), desc(workspaces.id));
    return c.json({ success: true as const, workspaces: rows }, 200);
  })
  .openapi(listMembers, async (c) => {
    const { workspaceId } = c.req.valid("param");
    const userId = c.var.userId;
    const db = database(c.env.DB);
    const [membership, users] = await db.batch([
      workspaceMembershipQuery(db, userId, workspaceId),
      db
        .select({
          userId: workspaceMembers.userId,
          role: workspaceMembers.role,
          createdAt: workspaceMembers.createdAt,
        })
        .from(workspaceMembers)
        .where(eq(workspaceMembers.workspaceId, workspaceId))
        .orderBy(asc(workspaceMembers.createdAt), asc(workspaceMembers.userId)),
    ]);
    authorize(asMember(userId, membership), "workspace.read");
    return c.json({ success: true as const, users }, 200);
  })
  .openapi(addMember, async (c) => {
    const { workspaceId } = c.req.valid("param");
    const body = c.req.valid("json");
    const userId = c.var.userId;
    const db = database(c.env.DB);
    authorize(
      asMember(userId, await workspaceMembershipQuery(db, userId, workspaceId)),
      "workspace.manageMembers",
    );
    const inserted = await db
      .insert(workspaceMembers)
      .values({ workspaceId, userId: body.userId, role: body.role, createdAt: now() })
      .onConflictDoNothing();
    if (inserted.meta.changes === 0) {
      throw new ApiError("CONFLICT", "That user is already a member of this workspace");
    }
    publishAudit(c, {
      type: "workspace.member_added",
      workspaceId,
      targetId: body.userId,
      changes: { userId: { after: body.userId }, role: { after: body.role } },
    });
    return c.json({ success: true as const, message: "User added to the workspace" }, 200);
  })
  .openapi(updateMember, async (c) => {
    const { workspaceId, userId: targetId } = c.req.valid("param");
    const { role } = c.req.valid("json");
    const userId = c.var.userId;
    const db = database(c.env.DB);
    const [membership, target] = await db.batch([
      workspaceMembershipQuery(db, userId, workspaceId),
      memberRowQuery(db, workspaceId, targetId),
    ]);
    authorize(asMember(userId, membership), "workspace.manageMembers");
    const before: Role | undefined = target[0]?.role;
    if (!before) throw notAMember();

    const updated = await db
      .update(workspaceMembers)
      .set({ role })
      .where(
        and(
          eq(workspaceMembers.workspaceId, workspaceId),
          eq(workspaceMembers.userId, targetId),
          // Demoting an ADMIN needs another ADMIN to remain.
          role === "ADMIN"
            ? undefined
            : or(ne(workspaceMembers.role, "ADMIN"), anotherAdminRemains(workspaceId, targetId)),
        ),
      );
    if (updated.meta.changes === 0) throw lastAdmin();
    publishAudit(c, {
      type: "workspace.member_updated",
      workspaceId,
      targetId,
      changes: { role: { before, after: role } },
    });
    return c.json({ success: true as const, message: "Member role updated" }, 200);
  })
  .openapi(removeMember, async (c) => {
    const { workspaceId, userId: targetId } = c.req.valid("param");
    const userId = c.var.userId;
    const db = database(c.env.DB);
    const [membership, target] = await db.batch([
      workspaceMembershipQuery(db, userId, workspaceId),
      memberRowQuery(db, workspaceId, targetId),
    ]);
    authorize(asMember(userId, membership), "workspace.manageMembers");
    const before: Role | undefined = target[0]?.role;
    if (!before) throw notAMember();

    const removed = await db
      .delete(workspaceMembers)
      .where(
        and(
          eq(workspaceMembers.workspaceId, workspaceId),
          eq(workspaceMembers.userId, targetId),
          or(ne(workspaceMembers.role, "ADMIN"), anotherAdminRemains(workspaceId, targetId)),
        ),
      );
    if (removed.meta.changes === 0) throw lastAdmin();
    publishAudit(c, {
      type: "workspace.member_removed",
      workspaceId,
      targetId,
      changes: { userId: { before: targetId }, role: { before } },
    });
    return c.json({ success: true as const, message: "User removed from the workspace" }, 200);
  });
