import * as z from "zod";
import { RoleSchema } from "../access/roles";
import { NameSchema, TimestampSchema, UuidSchema } from "../http/schemas";

export const CreateRepoBodySchema = z
  .strictObject({ name: NameSchema, workspaceId: UuidSchema })
  .meta({ id: "CreateRepoRequest" });

export const CreatedRepoSchema = z
  .object({ success: z.literal(true), id: UuidSchema, name: z.string(), workspaceId: UuidSchema })
  .meta({ id: "CreatedRepo" });

export const RepoSchema = z
  .object({
    id: UuidSchema,
    name: z.string(),
    workspaceId: UuidSchema,
    role: RoleSchema.meta({ description: "The caller's role in the repo's workspace" }),
    createdAt: TimestampSchema,
  })
  .meta({ id: "Repo" });

export const RepoListQuerySchema = z.object({
  workspaceId: UuidSchema.optional().meta({
    description: "Only repos of this workspace",
  }),
});

export const RepoListSchema = z
  .object({ success: z.literal(true), repos: z.array(RepoSchema) })
  .meta({ id: "RepoList" });

export const RepoResponseSchema = z
  .object({ success: z.literal(true), repo: RepoSchema })
  .meta({ id: "RepoResponse" });
