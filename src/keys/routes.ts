import { and, eq } from "drizzle-orm";
import { asMember, holdsRole, repoMembership } from "../access/membership";
import { authorize, permissionTo } from "../access/policy";
import type { AuditChanges } from "../audit/event";
import { publishAudit } from "../audit/publish";
import { newStorageCredentials } from "../crypto/credentials";
import { database, now } from "../db/client";
import { forgetKey } from "../db/key-memory";
import {
  activeKey,
  activeKeysRead,
  insertStorageKey,
  quotaSetting,
  softDeleteKey,
} from "../db/key-rows";
import { readBatch } from "../db/prepared";
import { storageKeys } from "../db/schema";
import { ApiError } from "../http/error";
import { defineOperation, route } from "../http/operation";
import { MessageResponseSchema } from "../http/schemas";
import { memberAndKey, refuseUnchanged } from "./existing";
import { issueKey, type KeyKind } from "./issue";
import {
  CreatedKeySchema,
  CreateStorageKeyBodySchema,
  RepoKeyParamsSchema,
  RepoParamsSchema,
  StorageKeyListSchema,
  UpdateStorageKeyBodySchema,
} from "./schemas";

const tags = ["Storage API keys"];
const keyNotFound = () => new ApiError("NOT_FOUND", "API key not found in this repository");

export const listStorageKeys = defineOperation({
  method: "get",
  path: "/repo/{repoId}/apikey",
  operationId: "listRepoKeys",
  summary: "List a repository's active storage keys, newest first",
  tags,
  params: RepoParamsSchema,
  success: {
    status: 200,
    schema: StorageKeyListSchema,
    description: "Active keys; never their secrets",
  },
});

export const createStorageKey = defineOperation({
  method: "post",
  path: "/repo/{repoId}/apikey",
  operationId: "createRepoKey",
  summary: "Create a storage key; its secret is returned once",
  tags,
  params: RepoParamsSchema,
  body: CreateStorageKeyBodySchema,
  success: {
    status: 200,
    schema: CreatedKeySchema,
    description: "The new key and its secret (shown once)",
  },
  errors: [409],
});

export const updateStorageKey = defineOperation({
  method: "put",
  path: "/repo/{repoId}/apikey/{apikeyId}",
  operationId: "updateRepoKey",
  summary: "Rename a storage key or change its access level",
  tags,
  params: RepoKeyParamsSchema,
  body: UpdateStorageKeyBodySchema,
  success: { status: 200, schema: MessageResponseSchema, description: "Updated" },
  errors: [404, 409],
});

export const deleteStorageKey = defineOperation({
  method: "delete",
  path: "/repo/{repoId}/apikey/{apikeyId}",
  operationId: "deleteRepoKey",
  summary: "Revoke a storage key (kept, soft-deleted, for audit)",
  tags,
  params: RepoKeyParamsSchema,
  success: { status: 200, schema: MessageResponseSchema, description: "Revoked" },
  errors: [404],
});

/** The columns of a listed storage key: the wire's `ApiKey`, never the sealed secret. */
export const storageKeyListColumns = {
  id: storageKeys.id,
  name: storageKeys.name,
  accessType: storageKeys.accessType,
  key: storageKeys.key,
  createdAt: storageKeys.createdAt,
  createdBy: storageKeys.createdBy,
  lastUsedAt: storageKeys.lastUsedAt,
};

export const activeStorageKeys = activeKeysRead(storageKeys, storageKeyListColumns);

const storageKeyKind = {
  sealedAs: "storage",
  insert: insertStorageKey,
  quota: (env) => quotaSetting(env.STORAGE_KEY_QUOTA),
  credentials: newStorageCredentials,
  plural: "storage keys",
} satisfies KeyKind<Parameters<typeof insertStorageKey>[1]>;

export const storageKeyRoutes = [
  route(listStorageKeys, async (c, input) => {
    const { repoId } = input.params;
    const userId = c.var.userId;
    const d1 = c.env.DB;
    // Access check and listing in one round trip; the rows are dropped if access is refused.
    const [membership, keys] = await readBatch(d1, [
      repoMembership(d1, { userId, repoId }),
      activeStorageKeys(d1, { repoId }),
    ]);
    authorize(asMember(userId, membership), "apikey.list");
    return { success: true as const, keys };
  }),
  route(createStorageKey, async (c, input) => {
    const { repoId } = input.params;
    const body = input.body;
    if (body.repoId !== undefined && body.repoId !== repoId) {
      throw new ApiError(
        "BAD_REQUEST",
        "repoId in the body does not match the repository in the path",
      );
    }
    const userId = c.var.userId;
    const { member, id, key, secret } = await issueKey(c.env, storageKeyKind, {
      repoId,
      userId,
      fields: { name: body.name, accessType: body.accessType },
      permission: permissionTo("apikey.create", { resource: { accessType: body.accessType } }),
    });
    publishAudit(c, {
      type: "apikey.created",
      workspaceId: member.workspaceId,
      repoId,
      targetId: id,
      changes: {
        name: { after: body.name },
        accessType: { after: body.accessType },
        key: { after: key },
      },
    });
    return { success: true as const, id, key, secret };
  }),
  route(updateStorageKey, async (c, input) => {
    const { repoId, apikeyId } = input.params;
    const body = input.body;
    const userId = c.var.userId;
    const address = { userId, repoId, apikeyId };
    const db = database(c.env.DB);
    const fields = { name: storageKeys.name, accessType: storageKeys.accessType };
    const { member, key: current } = await memberAndKey(db, storageKeys, fields, address);
    if (!current) throw keyNotFound();
    const permission = permissionTo("apikey.update", {
      resource: { from: current.accessType, to: body.accessType },
      userId,
    });
    permission.check(member);

    // Only if the key still has the access type just authorized against (a concurrent raise
    // to ADMIN must not let a WRITE member change it after all) and the caller still holds a
    // role that may make this change.
    const updated = await db
      .update(storageKeys)
      .set({ name: body.name, accessType: body.accessType, updatedAt: now() })
      .where(
        and(
          activeKey(storageKeys, apikeyId, repoId),
          eq(storageKeys.accessType, current.accessType),
          holdsRole(member.workspaceId, userId, permission.roles),
        ),
      );
    // Verification answers with the access level: this isolate must not answer the old one.
    forgetKey(apikeyId);
    if (updated.meta.changes === 0) {
      await refuseUnchanged(db, storageKeys, fields, address, {
        notFound: keyNotFound,
        check: (latest, key) =>
          permissionTo("apikey.update", {
            resource: { from: key.accessType, to: body.accessType },
            userId,
          }).check(latest),
      });
    }

    const changes: AuditChanges = {};
    if (current.name !== body.name) changes.name = { before: current.name, after: body.name };
    if (current.accessType !== body.accessType) {
      changes.accessType = { before: current.accessType, after: body.accessType };
    }
    publishAudit(c, {
      type: "apikey.updated",
      workspaceId: member.workspaceId,
      repoId,
      targetId: apikeyId,
      changes,
    });
    return { success: true as const, message: "API key updated" };
  }),
  route(deleteStorageKey, async (c, input) => {
    const { repoId, apikeyId } = input.params;
    const userId = c.var.userId;
    const address = { userId, repoId, apikeyId };
    const db = database(c.env.DB);
    const fields = { name: storageKeys.name, createdBy: storageKeys.createdBy };
    const { member, key: current } = await memberAndKey(db, storageKeys, fields, address);
    if (!current) throw keyNotFound();
    const permission = permissionTo("apikey.delete", {
      resource: { createdBy: current.createdBy },
      userId,
    });
    permission.check(member);

    const deleted = await softDeleteKey(db, storageKeys, {
      keyId: apikeyId,
      repoId,
      by: userId,
      at: now(),
      guard: holdsRole(member.workspaceId, userId, permission.roles),
    });
    if (deleted.meta.changes === 0) {
      await refuseUnchanged(db, storageKeys, fields, address, {
        notFound: keyNotFound,
        check: (latest, key) =>
          permissionTo("apikey.delete", { resource: { createdBy: key.createdBy }, userId }).check(
            latest,
          ),
      });
    }
    publishAudit(c, {
      type: "apikey.deleted",
      workspaceId: member.workspaceId,
      repoId,
      targetId: apikeyId,
      changes: { name: { before: current.name } },
    });
    return { success: true as const, message: "API key deleted" };
  }),
];
