import { and, eq, inArray, type Placeholder, type SQL, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { asFields, preparedRead } from "../db/prepared";
import { repos, workspaceMembers } from "../db/schema";
import type { Member } from "./policy";
import type { Role } from "./roles";

/**
 * The caller's role in the workspace that owns `repoId`, with that workspace's id: one row, or
 * none when the repo does not exist or the caller is not a member. A query, not a promise, so
 * handlers can put it in the same `db.batch` as their own statements.
 */
export function repoMembershipQuery(
  db: Database,
  userId: string | Placeholder,
  repoId: string | Placeholder,
) {
  return db
    .select(asFields({ role: workspaceMembers.role, workspaceId: repos.workspaceId }))
    .from(repos)
    .innerJoin(
      workspaceMembers,
      and(eq(workspaceMembers.workspaceId, repos.workspaceId), eq(workspaceMembers.userId, userId)),
    )
    .where(eq(repos.id, repoId))
    .limit(1);
}

/** `repoMembershipQuery` prepared once per isolate, for the hot paths that read with `readBatch`. */
export const repoMembership = preparedRead(["userId", "repoId"], (db, p) =>
  repoMembershipQuery(db, p.userId, p.repoId),
);

export function workspaceMembershipQuery(db: Database, userId: string, workspaceId: string) {
  return db
    .select({ role: workspaceMembers.role, workspaceId: workspaceMembers.workspaceId })
    .from(workspaceMembers)
    .where(and(eq(workspaceMembers.workspaceId, workspaceId), eq(workspaceMembers.userId, userId)))
    .limit(1);
}

export interface ScopedMember extends Member {
  workspaceId: string;
}

/** The membership row of a batch result, as a Member (undefined for none). */
export function asMember(
  userId: string,
  rows: { role: Member["role"]; workspaceId: string }[],
): ScopedMember | undefined {
  const row = rows[0];
  return row ? { userId, role: row.role, workspaceId: row.workspaceId } : undefined;
}

/**
 * True while `userId` holds one of `roles` in the workspace. A write carries it in its WHERE, so
 * a caller demoted or removed between the authorization and the write changes nothing.
 */
export function holdsRole(workspaceId: string, userId: string, roles: readonly Role[]): SQL {
  return sql`EXISTS (SELECT 1 FROM ${workspaceMembers} WHERE ${and(
    eq(workspaceMembers.workspaceId, workspaceId),
    eq(workspaceMembers.userId, userId),
    inArray(workspaceMembers.role, roles),
  )})`;
}

/**
 * `holdsRole` for a write prepared once (src/db/prepared.ts): true while `userId` holds one of
 * the roles in `rolesJson` (a JSON array) in the workspace that owns `repoId`.
 */
export function holdsRepoRole(
  repoId: Placeholder,
  userId: Placeholder,
  rolesJson: Placeholder,
): SQL {
  return sql`EXISTS (SELECT 1 FROM ${repos} INNER JOIN ${workspaceMembers} ON ${eq(
    workspaceMembers.workspaceId,
    repos.workspaceId,
  )} WHERE ${and(
    eq(repos.id, repoId),
    eq(workspaceMembers.userId, userId),
  )} AND ${workspaceMembers.role} IN (SELECT value FROM json_each(${rolesJson})))`;
}

/**
 * `repoId` while `userId` holds one of `roles` in the workspace that owns it, else NULL: what a
 * read compares its rows' repo id to. SQLite computes it once, before its first row, and a NULL
 * reads no row at all, so a repo the caller may not read costs what a repo that does not exist
 * costs. The roles are fixed per read.
 */
export function readableRepo(
  repoId: string | Placeholder,
  userId: string | Placeholder,
  roles: readonly Role[],
): SQL {
  return sql`(SELECT ${repos.id} FROM ${repos} INNER JOIN ${workspaceMembers} ON ${eq(
    workspaceMembers.workspaceId,
    repos.workspaceId,
  )} WHERE ${and(
    eq(repos.id, repoId),
    eq(workspaceMembers.userId, userId),
    inArray(workspaceMembers.role, roles),
  )})`;
}

/** `workspaceId` while `userId` holds one of `roles` in it, else NULL: as `readableRepo`. */
export function readableWorkspace(
  workspaceId: string,
  userId: string,
  roles: readonly Role[],
): SQL {
  return sql`(SELECT ${workspaceMembers.workspaceId} FROM ${workspaceMembers} WHERE ${and(
    eq(workspaceMembers.workspaceId, workspaceId),
    eq(workspaceMembers.userId, userId),
    inArray(workspaceMembers.role, roles),
  )})`;
}
