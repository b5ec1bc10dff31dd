import { and, asc, desc, eq, ne, or, sql } from "drizzle-orm";
import { asMember, holdsRole, workspaceMembershipQuery } from "../access/membership";
import { authorize, permissionTo } from "../access/policy";
import type { Role } from "../access/roles";
import { publishAudit } from "../audit/publish";
import { database, now } from "../db/client";
import { workspaceMembers, workspaces } from "../db/schema";
import { ApiError } from "../http/error";
import { defineOperation, route } from "../http/operation";
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
const MANAGE_MEMBERS = permissionTo("workspace.manageMembers");
const notAMember = () => new ApiError("NOT_FOUND", "That user is not a member of this workspace");
const lastAdmin = () =>
  new ApiError(
    "CONFLICT",
    "A workspace must keep at least one ADMIN; make another member ADMIN first",
  );

export const createWorkspace = defineOperation({
  method: "post",
  path: "/workspace",
  operationId: "createWorkspace",
  summary: "Create a workspace; the caller becomes its ADMIN",
  tags,
  body: CreateWorkspaceBodySchema,
  success: { status: 200, schema: CreatedWorkspaceSchema, description: "Created" },
  everyUser: true,
});

export const listWorkspaces = defineOperation({
  method: "get",
  path: "/workspace",
  operationId: "listWorkspaces",
  summary: "The caller's workspaces and role in each, newest first",
  tags,
  success: { status: 200, schema: WorkspaceListSchema, description: "The caller's workspaces" },
  everyUser: true,
});

export const listMembers = defineOperation({
  method: "get",
  path: "/workspace/{workspaceId}/users",
  operationId: "listWorkspaceUsers",
  summary: "A workspace's members (any member may look)",
  tags,
  params: WorkspaceParamsSchema,
  success: { status: 200, schema: MemberListSchema, description: "Members, oldest first" },
});

export const addMember = defineOperation({
  method: "post",
  path: "/workspace/{workspaceId}/users",
  operationId: "addWorkspaceUser",
  summary: "Add a member (ADMIN only)",
  tags,
  params: WorkspaceParamsSchema,
  body: AddMemberBodySchema,
  success: { status: 200, schema: MessageResponseSchema, description: "Added" },
  errors: [409],
});

export const updateMember = defineOperation({
  method: "put",
  path: "/workspace/{workspaceId}/users/{userId}",
  operationId: "updateWorkspaceUser",
  summary: "Change a member's role (ADMIN only; the last ADMIN cannot be demoted)",
  tags,
  params: MemberParamsSchema,
  body: UpdateMemberBodySchema,
  success: { status: 200, schema: MessageResponseSchema, description: "Updated" },
  errors: [404, 409],
});

export const removeMember = defineOperation({
  method: "delete",
  path: "/workspace/{workspaceId}/users/{userId}",
  operationId: "removeWorkspaceUser",
  summary: "Remove a member (ADMIN only; the last ADMIN cannot be removed)",
  tags,
  params: MemberParamsSchema,
  success: { status: 200, schema: MessageResponseSchema, description: "Removed" },
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

/**
 * Why a member update or removal changed nothing, from the rows read right after it: the caller
 * may no longer manage members (403), the member is gone (404), or they are the last ADMIN (409).
 */
function refusedWrite(
  userId: string,
  caller: { role: Role; workspaceId: string }[],
  target: { role: Role }[],
): never {
  MANAGE_MEMBERS.check(asMember(userId, caller));
  if (!target[0]) throw notAMember();
  throw lastAdmin();
}

export const workspaceRoutes = [
  route(createWorkspace, async (c, input) => {
    const { name } = input.body;
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
    return { success: true as const, id, name };
  }),
  route(listWorkspaces, async (c) => {
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
    return { success: true as const, workspaces: rows };
  }),
  route(listMembers, async (c, input) => {
    const { workspaceId } = input.params;
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
    return { success: true as const, users };
  }),
  route(addMember, async (c, input) => {
    const { workspaceId } = input.params;
    const body = input.body;
    const userId = c.var.userId;
    const db = database(c.env.DB);
    // One round trip: the insert happens only if the caller may manage members; the membership
    // read beside it tells a refusal (403) from a user who is already a member (409).
    const [inserted, membership] = await db.batch([
      db
        .insert(workspaceMembers)
        .select(
          sql`SELECT ${workspaceId}, ${body.userId}, ${body.role}, ${now()} WHERE ${holdsRole(workspaceId, userId, MANAGE_MEMBERS.roles)}`,
        )
        .onConflictDoNothing(),
      workspaceMembershipQuery(db, userId, workspaceId),
    ]);
    if (inserted.meta.changes === 0) {
      MANAGE_MEMBERS.check(asMember(userId, membership));
      throw new ApiError("CONFLICT", "That user is already a member of this workspace");
    }
    publishAudit(c, {
      type: "workspace.member_added",
      workspaceId,
      targetId: body.userId,
      changes: { userId: { after: body.userId }, role: { after: body.role } },
    });
    return { success: true as const, message: "User added to the workspace" };
  }),
  route(updateMember, async (c, input) => {
    const { workspaceId, userId: targetId } = input.params;
    const { role } = input.body;
    const userId = c.var.userId;
    const db = database(c.env.DB);
    const [membership, target] = await db.batch([
      workspaceMembershipQuery(db, userId, workspaceId),
      memberRowQuery(db, workspaceId, targetId),
    ]);
    MANAGE_MEMBERS.check(asMember(userId, membership));
    const before: Role | undefined = target[0]?.role;
    if (!before) throw notAMember();

    // The write re-checks everything it depends on; the rows read with it say why it did nothing.
    const [updated, caller, remaining] = await db.batch([
      db
        .update(workspaceMembers)
        .set({ role })
        .where(
          and(
            eq(workspaceMembers.workspaceId, workspaceId),
            eq(workspaceMembers.userId, targetId),
            holdsRole(workspaceId, userId, MANAGE_MEMBERS.roles),
            // Demoting an ADMIN needs another ADMIN to remain.
            role === "ADMIN"
              ? undefined
              : or(ne(workspaceMembers.role, "ADMIN"), anotherAdminRemains(workspaceId, targetId)),
          ),
        ),
      workspaceMembershipQuery(db, userId, workspaceId),
      memberRowQuery(db, workspaceId, targetId),
    ]);
    if (updated.meta.changes === 0) refusedWrite(userId, caller, remaining);
    publishAudit(c, {
      type: "workspace.member_updated",
      workspaceId,
      targetId,
      changes: { role: { before, after: role } },
    });
    return { success: true as const, message: "Member role updated" };
  }),
  route(removeMember, async (c, input) => {
    const { workspaceId, userId: targetId } = input.params;
    const userId = c.var.userId;
    const db = database(c.env.DB);
    const [membership, target] = await db.batch([
      workspaceMembershipQuery(db, userId, workspaceId),
      memberRowQuery(db, workspaceId, targetId),
    ]);
    MANAGE_MEMBERS.check(asMember(userId, membership));
    const before: Role | undefined = target[0]?.role;
    if (!before) throw notAMember();

    const [removed, caller, remaining] = await db.batch([
      db
        .delete(workspaceMembers)
        .where(
          and(
            eq(workspaceMembers.workspaceId, workspaceId),
            eq(workspaceMembers.userId, targetId),
            holdsRole(workspaceId, userId, MANAGE_MEMBERS.roles),
            or(ne(workspaceMembers.role, "ADMIN"), anotherAdminRemains(workspaceId, targetId)),
          ),
        ),
      workspaceMembershipQuery(db, userId, workspaceId),
      memberRowQuery(db, workspaceId, targetId),
    ]);
    if (removed.meta.changes === 0) refusedWrite(userId, caller, remaining);
    publishAudit(c, {
      type: "workspace.member_removed",
      workspaceId,
      targetId,
      changes: { userId: { before: targetId }, role: { before } },
    });
    return { success: true as const, message: "User removed from the workspace" };
  }),
];
