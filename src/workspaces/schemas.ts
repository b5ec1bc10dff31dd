import * as z from "zod";
import { RoleSchema } from "../access/roles";
import {
  NameSchema,
  StoredUserIdSchema,
  TimestampSchema,
  UserIdSchema,
  UuidSchema,
} from "../http/schemas";

export const WorkspaceParamsSchema = z.object({
  workspaceId: UuidSchema,
});

export const MemberParamsSchema = WorkspaceParamsSchema.extend({
  userId: StoredUserIdSchema,
});

export const CreateWorkspaceBodySchema = z
  .strictObject({ name: NameSchema })
  .meta({ id: "CreateWorkspaceRequest" });

export const CreatedWorkspaceSchema = z
  .object({ success: z.literal(true), id: UuidSchema, name: z.string() })
  .meta({ id: "CreatedWorkspace" });

export const WorkspaceListSchema = z
  .object({
    success: z.literal(true),
    workspaces: z.array(
      z.object({ id: UuidSchema, name: z.string(), role: RoleSchema, createdAt: TimestampSchema }),
    ),
  })
  .meta({ id: "WorkspaceList" });

export const MemberListSchema = z
  .object({
    success: z.literal(true),
    users: z.array(
      z.object({ userId: UserIdSchema, role: RoleSchema, createdAt: TimestampSchema }),
    ),
  })
  .meta({ id: "WorkspaceMemberList" });

export const AddMemberBodySchema = z
  .strictObject({ userId: UserIdSchema, role: RoleSchema })
  .meta({ id: "AddWorkspaceMemberRequest" });

export const UpdateMemberBodySchema = z
  .strictObject({ role: RoleSchema })
  .meta({ id: "UpdateWorkspaceMemberRequest" });
