import { z } from "@hono/zod-openapi";
import { RoleSchema } from "../access/roles";
import { NameSchema, TimestampSchema, UserIdSchema, UuidSchema } from "../http/schemas";

export const WorkspaceParamsSchema = z.object({
  workspaceId: UuidSchema.openapi({ param: { name: "workspaceId", in: "path" } }),
});

export const MemberParamsSchema = WorkspaceParamsSchema.extend({
  userId: UserIdSchema.openapi({ param: { name: "userId", in: "path" } }),
});

export const CreateWorkspaceBodySchema = z
  .strictObject({ name: NameSchema })
  .openapi("CreateWorkspaceRequest");

export const CreatedWorkspaceSchema = z
  .object({ success: z.literal(true), id: UuidSchema, name: z.string() })
  .openapi("CreatedWorkspace");

export const WorkspaceListSchema = z
  .object({
    success: z.literal(true),
    workspaces: z.array(
      z.object({ id: UuidSchema, name: z.string(), role: RoleSchema, createdAt: TimestampSchema }),
    ),
  })
  .openapi("WorkspaceList");

export const MemberListSchema = z
  .object({
    success: z.literal(true),
    users: z.array(
      z.object({ userId: UserIdSchema, role: RoleSchema, createdAt: TimestampSchema }),
    ),
  })
  .openapi("WorkspaceMemberList");

export const AddMemberBodySchema = z
  .strictObject({ userId: UserIdSchema, role: RoleSchema })
  .openapi("AddWorkspaceMemberRequest");

export const UpdateMemberBodySchema = z
  .strictObject({ role: RoleSchema })
  .openapi("UpdateWorkspaceMemberRequest");
