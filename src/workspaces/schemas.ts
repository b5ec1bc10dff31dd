import * as z from "zod";
import { RoleSchema } from "../access/roles";
import {
  NameSchema,
  StoredUserIdSchema,
  TimestampSchema,
  UserIdSchema,
  WorkspaceIdSchema,
} from "../http/schemas";

const NAME_EXAMPLE = "Acme Robotics";

export const WorkspaceParamsSchema = z.object({
  workspaceId: WorkspaceIdSchema,
});

export const MemberParamsSchema = WorkspaceParamsSchema.extend({
  userId: StoredUserIdSchema,
});

export const CreateWorkspaceBodySchema = z
  .strictObject({ name: NameSchema.meta({ examples: [NAME_EXAMPLE] }) })
  .meta({ id: "CreateWorkspaceRequest" });

export const CreatedWorkspaceSchema = z
  .object({
    success: z.literal(true),
    id: WorkspaceIdSchema,
    name: z.string().meta({ examples: [NAME_EXAMPLE] }),
  })
  .meta({ id: "CreatedWorkspace" });

export const WorkspaceListSchema = z
  .object({
    success: z.literal(true),
    workspaces: z.array(
      z.object({
        id: WorkspaceIdSchema,
        name: z.string().meta({ examples: [NAME_EXAMPLE] }),
        role: RoleSchema,
        createdAt: TimestampSchema,
      }),
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
