import { and, desc, eq, sql } from "drizzle-orm";
import { asMember, holdsRole, workspaceMembershipQuery } from "../access/membership";
import { authorize, permissionTo } from "../access/policy";
import { publishAudit } from "../audit/publish";
import { database, now } from "../db/client";
import { repos, workspaceMembers } from "../db/schema";
import { ApiError, insufficientPermissions } from "../http/error";
import { defineOperation, route } from "../http/operation";
import { RepoParamsSchema } from "../keys/schemas";
import {
  CreatedRepoSchema,
  CreateRepoBodySchema,
  RepoListQuerySchema,
  RepoListSchema,
  RepoResponseSchema,
} from "./schemas";

const tags = ["Repositories"];
const CREATE_REPO = permissionTo("repo.create");

export const createRepo = defineOperation({
  method: "post",
  path: "/repo",
  operationId: "createRepo",
  summary: "Create a repository in a workspace (WRITE or ADMIN there)",
  tags,
  body: CreateRepoBodySchema,
  success: { status: 200, schema: CreatedRepoSchema, description: "Created" },
  errors: [409],
});

export const listRepos = defineOperation({
  method: "get",
  path: "/repo",
  operationId: "listRepos",
  summary: "Repositories the caller can reach, newest first",
  tags,
  query: RepoListQuerySchema,
  success: { status: 200, schema: RepoListSchema, description: "Reachable repositories" },
  everyUser: true,
});

export const getRepo = defineOperation({
  method: "get",
  path: "/repo/{repoId}",
  operationId: "getRepo",
  summary: "One repository and the caller's role in it",
  tags,
  params: RepoParamsSchema,
  success: { status: 200, schema: RepoResponseSchema, description: "The repository" },
});

const repoColumns = {
  id: repos.id,
  name: repos.name,
  workspaceId: repos.workspaceId,
  role: workspaceMembers.role,
  createdAt: repos.createdAt,
};

/** Repos joined to the caller's membership: only reachable ones come back. */
function reachableRepos(db: ReturnType<typeof database>, userId: string) {
  return db
    .select(repoColumns)
    .from(repos)
    .innerJoin(
      workspaceMembers,
      and(eq(workspaceMembers.workspaceId, repos.workspaceId), eq(workspaceMembers.userId, userId)),
    );
}

export const repoRoutes = [
  route(createRepo, async (c, input) => {
    const { name, workspaceId } = input.body;
    const userId = c.var.userId;
    const db = database(c.env.DB);
    const id = crypto.randomUUID();
    // One round trip: the insert happens only if the caller may create repos there; the
    // membership read beside it tells a refusal (403) from a taken name (409).
    const [inserted, membership] = await db.batch([
      db
        .insert(repos)
        .select(
          sql`SELECT ${id}, ${workspaceId}, ${name}, ${userId}, ${now()} WHERE ${holdsRole(workspaceId, userId, CREATE_REPO.roles)}`,
        )
        .onConflictDoNothing(),
      workspaceMembershipQuery(db, userId, workspaceId),
    ]);
    if (inserted.meta.changes === 0) {
      CREATE_REPO.check(asMember(userId, membership));
      throw new ApiError("CONFLICT", `This workspace already has a repository named "${name}"`);
    }
    publishAudit(c, {
      type: "repo.created",
      workspaceId,
      repoId: id,
      targetId: id,
      changes: { name: { after: name } },
    });
    return { success: true as const, id, name, workspaceId };
  }),
  route(listRepos, async (c, input) => {
    const { workspaceId } = input.query;
    const db = database(c.env.DB);
    const rows = await reachableRepos(db, c.var.userId)
      .where(workspaceId ? eq(repos.workspaceId, workspaceId) : undefined)
      .orderBy(desc(repos.createdAt), desc(repos.id));
    return { success: true as const, repos: rows };
  }),
  route(getRepo, async (c, input) => {
    const { repoId } = input.params;
    const userId = c.var.userId;
    const db = database(c.env.DB);
    const [repo] = await reachableRepos(db, userId).where(eq(repos.id, repoId)).limit(1);
    if (!repo) throw insufficientPermissions();
    authorize({ userId, role: repo.role }, "repo.read");
    return { success: true as const, repo };
  }),
];
