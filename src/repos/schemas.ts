import * as z from "zod";
import { RoleSchema } from "../access/roles";
import { NameSchema, RepoIdSchema, TimestampSchema, WorkspaceIdSchema } from "../http/schemas";

const NAME_EXAMPLE = "Product photos";

export const CreateRepoBodySchema = z
  .strictObject({
    name: NameSchema.meta({ examples: [NAME_EXAMPLE] }),
    workspaceId: WorkspaceIdSchema,
  })
  .meta({ id: "CreateRepoRequest" });

export const CreatedRepoSchema = z
  .object({
    success: z.literal(true),
    id: RepoIdSchema,
    name: z.string().meta({ examples: [NAME_EXAMPLE] }),
    workspaceId: WorkspaceIdSchema,
  })
  .meta({ id: "CreatedRepo" });

export const RepoSchema = z
  .object({
    id: RepoIdSchema,
    name: z.string().meta({ examples: [NAME_EXAMPLE] }),
    workspaceId: WorkspaceIdSchema,
    role: RoleSchema.meta({ description: "The caller's role in the repo's workspace" }),
    createdAt: TimestampSchema,
  })
  .meta({ id: "Repo" });

export const RepoListQuerySchema = z.object({
  workspaceId: WorkspaceIdSchema.optional().meta({
    description: "Only repos of this workspace",
  }),
});

export const RepoListSchema = z
  .object({ success: z.literal(true), repos: z.array(RepoSchema) })
  .meta({ id: "RepoList" });

export const RepoResponseSchema = z
  .object({ success: z.literal(true), repo: RepoSchema })
  .meta({ id: "RepoResponse" });
