import { and, eq, isNull } from "drizzle-orm";
import { holdsRole } from "../access/membership";
import { permissionTo } from "../access/policy";
import { changesOf } from "../audit/event";
import { publishAudit } from "../audit/publish";
import { newStorageCredentials } from "../crypto/credentials";
import { database, now } from "../db/client";
import { forgetKey } from "../db/key-memory";
import { activeKey, insertStorageKey, quotaSetting, softDeleteKey } from "../db/key-rows";
import { storageKeys } from "../db/schema";
import { ApiError } from "../http/error";
import { defineOperation, route } from "../http/operation";
import { MessageResponseSchema } from "../http/schemas";
import { auditedRateLimit, rateLimitColumns, rateLimitOf, withRateLimit } from "../limits/setting";
import { leakedKeyMustBeRolled, memberAndKey, refuseUnchanged } from "./existing";
import { issueKey, type KeyKind } from "./issue";
import { keyLister } from "./list";
import { type RollKind, rollRoute } from "./roll";
import {
  CreatedKeySchema,
  CreateStorageKeyBodySchema,
  KeyListQuerySchema,
  RepoKeyParamsSchema,
  RepoParamsSchema,
  RolledKeySchema,
  RollKeyBodySchema,
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
  query: KeyListQuerySchema,
  success: {
    status: 200,
    schema: StorageKeyListSchema,
    description: "Active keys (all of them, or a page); never their secrets",
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
  summary: "Rename a storage key, change its access level, disable or enable it, set its expiry",
  tags,
  params: RepoKeyParamsSchema,
  body: UpdateStorageKeyBodySchema,
  success: { status: 200, schema: MessageResponseSchema, description: "Updated" },
  errors: [404, 409],
});

export const rollStorageKey = defineOperation({
  method: "post",
  path: "/repo/{repoId}/apikey/{apikeyId}/roll",
  operationId: "rollRepoKey",
  summary:
    "Give a storage key a new secret (same access key id); the old one may keep working for a grace period",
  tags,
  params: RepoKeyParamsSchema,
  body: RollKeyBodySchema,
  bodyOptional: true,
  success: {
    status: 200,
    schema: RolledKeySchema,
    description: "The new secret (shown once) and until when the previous one works",
  },
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
  status: storageKeys.status,
  expiresAt: storageKeys.expiresAt,
  previousSecretExpiresAt: storageKeys.previousSecretExpiresAt,
  disabledReason: storageKeys.disabledReason,
  leakedAt: storageKeys.leakedAt,
  leakSource: storageKeys.leakSource,
  leakUrl: storageKeys.leakUrl,
  ratelimitLimit: storageKeys.ratelimitLimit,
  ratelimitPeriodSeconds: storageKeys.ratelimitPeriodSeconds,
};

const listKeys = keyLister(storageKeys, storageKeyListColumns, "apikey.list");

const rollStorage: RollKind<{ accessType: typeof storageKeys.accessType }> = {
  table: storageKeys,
  sealedAs: "storage",
  fields: { accessType: storageKeys.accessType },
  newSecret: () => newStorageCredentials().secret,
  // Rolling is an update: a WRITE member cannot roll an ADMIN key, READ members none.
  permission: (key, userId) =>
    permissionTo("apikey.update", {
      resource: { from: key.accessType, to: key.accessType },
      userId,
    }),
  unchanged: (key) => eq(storageKeys.accessType, key.accessType),
  notFound: keyNotFound,
};

const storageKeyKind = {
  sealedAs: "storage",
  insert: insertStorageKey,
  quota: (env) => quotaSetting(env.STORAGE_KEY_QUOTA),
  credentials: newStorageCredentials,
  plural: "storage keys",
} satisfies KeyKind<Parameters<typeof insertStorageKey>[1]>;

export const storageKeyRoutes = [
  route(listStorageKeys, async (c, input) => {
    // Access check and listing in one round trip; a refused caller's read finds no rows.
    const { keys, nextCursor } = await listKeys(
      c.env.DB,
      { userId: c.var.userId, repoId: input.params.repoId },
      input.query,
    );
    return { success: true as const, keys: keys.map(withRateLimit), nextCursor };
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
      fields: {
        name: body.name,
        accessType: body.accessType,
        expiresAt: body.expiresAt ?? null,
        ...rateLimitColumns(body.ratelimit ?? null),
      },
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
        ...(body.expiresAt ? { expiresAt: { after: body.expiresAt } } : {}),
        ...(body.ratelimit ? { ratelimit: { after: auditedRateLimit(body.ratelimit) } } : {}),
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
    const fields = {
      name: storageKeys.name,
      accessType: storageKeys.accessType,
      status: storageKeys.status,
      expiresAt: storageKeys.expiresAt,
      disabledReason: storageKeys.disabledReason,
      ratelimitLimit: storageKeys.ratelimitLimit,
      ratelimitPeriodSeconds: storageKeys.ratelimitPeriodSeconds,
    };
    const { member, key: current } = await memberAndKey(db, storageKeys, fields, address);
    if (!current) throw keyNotFound();
    const to = body.accessType ?? current.accessType;
    const permission = permissionTo("apikey.update", {
      resource: { from: current.accessType, to },
      userId,
    });
    permission.check(member);
    const enabling = body.status === "ACTIVE";
    if (enabling && current.disabledReason === "LEAKED") throw leakedKeyMustBeRolled();

    // Only what was sent changes (Flashback's {name, accessType} leaves status and expiry be).
    const changed = {
      name: body.name,
      accessType: body.accessType,
      status: body.status,
      expiresAt: body.expiresAt,
    };
    // Only if the key still has the access type just authorized against (a concurrent raise
    // to ADMIN must not let a WRITE member change it after all) and the caller still holds a
    // role that may make this change.
    const updated = await db
      .update(storageKeys)
      .set({ ...changed, ...rateLimitColumns(body.ratelimit), updatedAt: now() })
      .where(
        and(
          activeKey(storageKeys, apikeyId, repoId),
          eq(storageKeys.accessType, current.accessType),
          // A leak reported meanwhile is not undone by this enable.
          enabling ? isNull(storageKeys.disabledReason) : undefined,
          holdsRole(member.workspaceId, userId, permission.roles),
        ),
      );
    // Verification answers with the access level and status: this isolate must not answer the
    // old ones.
    forgetKey(apikeyId);
    if (updated.meta.changes === 0) {
      await refuseUnchanged(db, storageKeys, fields, address, {
        notFound: keyNotFound,
        check: (latest, key) =>
          permissionTo("apikey.update", {
            resource: { from: key.accessType, to: body.accessType ?? key.accessType },
            userId,
          }).check(latest),
      });
    }

    publishAudit(c, {
      type: "apikey.updated",
      workspaceId: member.workspaceId,
      repoId,
      targetId: apikeyId,
      changes: changesOf(
        { ...current, ratelimit: auditedRateLimit(rateLimitOf(current)) },
        { ...changed, ratelimit: auditedRateLimit(body.ratelimit) },
      ),
    });
    return { success: true as const, message: "API key updated" };
  }),
  rollRoute(rollStorageKey, rollStorage, "apikey.rolled"),
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
