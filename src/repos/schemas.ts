import { z } from "@hono/zod-openapi";
import { RoleSchema } from "../access/roles";
import { NameSchema, TimestampSchema, UuidSchema } from "../http/schemas";

export const CreateRepoBodySchema = z
  .strictObject({ name: NameSchema, workspaceId: UuidSchema })
  .openapi("CreateRepoRequest");

export const CreatedRepoSchema = z
  .object({ success: z.literal(true), id: UuidSchema, name: z.string(), workspaceId: UuidSchema })
  .openapi("CreatedRepo");

export const RepoSchema = z
  .object({
    id: UuidSchema,
    name: z.string(),
    workspaceId: UuidSchema,
    role: RoleSchema.openapi({ description: "The caller's role in the repo's workspace" }),
    createdAt: TimestampSchema,
  })
  .openapi("Repo");

export const RepoListQuerySchema = z.object({
  workspaceId: UuidSchema.optional().openapi({
    param: { name: "workspaceId", in: "query" },
    description: "Only repos of this workspace",
  }),
});

export const RepoListSchema = z
  .object({ success: z.literal(true), repos: z.array(RepoSchema) })
  .openapi("RepoList");

export const RepoResponseSchema = z
  .object({ success: z.literal(true), repo: RepoSchema })
  .openapi("RepoResponse");
