import { and, isNull } from "drizzle-orm";
import { holdsRole } from "../access/membership";
import { permissionTo } from "../access/policy";
import { changesOf } from "../audit/event";
import { publishAudit } from "../audit/publish";
import { newAiCredentials } from "../crypto/credentials";
import { database, now } from "../db/client";
import { forgetKey } from "../db/key-memory";
import { activeKey, insertAiKey, quotaSetting, softDeleteKey } from "../db/key-rows";
import { aiKeys } from "../db/schema";
import { ApiError } from "../http/error";
import { defineOperation, route } from "../http/operation";
import { MessageResponseSchema } from "../http/schemas";
import { leakedKeyMustBeRolled, memberAndKey, refuseUnchanged } from "../keys/existing";
import { issueKey, type KeyKind } from "../keys/issue";
import { keyLister } from "../keys/list";
import { type RollKind, rollRoute } from "../keys/roll";
import {
  KeyListQuerySchema,
  RepoKeyParamsSchema,
  RepoParamsSchema,
  RolledKeySchema,
  RollKeyBodySchema,
} from "../keys/schemas";
import {
  AiKeyListSchema,
  CreateAiKeyBodySchema,
  CreatedAiKeySchema,
  UpdateAiKeyBodySchema,
} from "./schemas";

const tags = ["AI API keys"];
const CREATE_AI_KEY = permissionTo("aiApikey.create");
const UPDATE_AI_KEY = permissionTo("aiApikey.update");
const DELETE_AI_KEY = permissionTo("aiApikey.delete");
const keyNotFound = () => new ApiError("NOT_FOUND", "AI API key not found in this repository");

export const listAiKeys = defineOperation({
  method: "get",
  path: "/repo/{repoId}/ai/apikey",
  operationId: "getRepoAiApiKeys",
  summary: "List a repository's active AI keys, newest first",
  tags,
  params: RepoParamsSchema,
  query: KeyListQuerySchema,
  success: {
    status: 200,
    schema: AiKeyListSchema,
    description: "Active AI keys (all of them, or a page); never their secrets",
  },
});

export const createAiKey = defineOperation({
  method: "post",
  path: "/repo/{repoId}/ai/apikey",
  operationId: "createRepoAiApiKey",
  summary: "Create an AI key; its secret is returned once",
  tags,
  params: RepoParamsSchema,
  body: CreateAiKeyBodySchema,
  success: {
    status: 201,
    schema: CreatedAiKeySchema,
    description: "The new AI key and its secret (shown once)",
  },
  errors: [409],
});

export const updateAiKey = defineOperation({
  method: "put",
  path: "/repo/{repoId}/ai/apikey/{apikeyId}",
  operationId: "updateRepoAiApiKey",
  summary:
    "Rename an AI key, disable or enable it, set its expiry or model allow-list (its type cannot change)",
  tags,
  params: RepoKeyParamsSchema,
  body: UpdateAiKeyBodySchema,
  success: { status: 200, schema: MessageResponseSchema, description: "Renamed" },
  errors: [404, 409],
});

export const rollAiKey = defineOperation({
  method: "post",
  path: "/repo/{repoId}/ai/apikey/{apikeyId}/roll",
  operationId: "rollRepoAiApiKey",
  summary:
    "Give an AI key a new secret (same FB_AI_ key); the old one may keep working for a grace period",
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

export const deleteAiKey = defineOperation({
  method: "delete",
  path: "/repo/{repoId}/ai/apikey/{apikeyId}",
  operationId: "deleteRepoAiApiKey",
  summary: "Delete an AI key (soft delete; the row stays for audit)",
  tags,
  params: RepoKeyParamsSchema,
  success: { status: 200, schema: MessageResponseSchema, description: "Deleted" },
  errors: [404],
});

/** A repo's active AI keys as the wire's `RepoAiApiKey`, never the sealed secret. */
const listAiKeyRows = keyLister(
  aiKeys,
  {
    id: aiKeys.id,
    name: aiKeys.name,
    repoId: aiKeys.repoId,
    key: aiKeys.key,
    aiType: aiKeys.aiType,
    createdAt: aiKeys.createdAt,
    deletedAt: aiKeys.deletedAt,
    status: aiKeys.status,
    expiresAt: aiKeys.expiresAt,
    lastUsedAt: aiKeys.lastUsedAt,
    previousSecretExpiresAt: aiKeys.previousSecretExpiresAt,
    disabledReason: aiKeys.disabledReason,
    leakedAt: aiKeys.leakedAt,
    leakSource: aiKeys.leakSource,
    leakUrl: aiKeys.leakUrl,
    models: aiKeys.models,
  },
  "aiApikey.list",
);

/** The allow-list as stored: JSON text, null for any model. */
const storedModels = (models: string[] | null | undefined) =>
  models ? JSON.stringify(models) : null;
/** The stored allow-list as the wire shows it. */
const listedModels = (models: string | null): string[] | null =>
  models ? (JSON.parse(models) as string[]) : null;

const aiKeyKind = {
  sealedAs: "ai",
  insert: insertAiKey,
  quota: (env) => quotaSetting(env.AI_KEY_QUOTA),
  credentials: newAiCredentials,
  plural: "AI keys",
} satisfies KeyKind<Parameters<typeof insertAiKey>[1]>;

const rollAi: RollKind<Record<string, never>> = {
  table: aiKeys,
  sealedAs: "ai",
  fields: {},
  newSecret: () => newAiCredentials().secret,
  permission: () => UPDATE_AI_KEY,
  notFound: keyNotFound,
};

export const aiKeyRoutes = [
  route(listAiKeys, async (c, input) => {
    const { keys: apiKeys, nextCursor } = await listAiKeyRows(
      c.env.DB,
      { userId: c.var.userId, repoId: input.params.repoId },
      input.query,
    );
    return {
      success: true as const,
      apiKeys: apiKeys.map((key) => ({ ...key, models: listedModels(key.models) })),
      nextCursor,
    };
  }),
  route(createAiKey, async (c, input) => {
    const { repoId } = input.params;
    const body = input.body;
    const userId = c.var.userId;
    const { member, id, key, secret } = await issueKey(c.env, aiKeyKind, {
      repoId,
      userId,
      fields: {
        name: body.name,
        aiType: body.aiType,
        expiresAt: body.expiresAt ?? null,
        models: storedModels(body.models),
      },
      permission: CREATE_AI_KEY,
    });
    publishAudit(c, {
      type: "ai_apikey.created",
      workspaceId: member.workspaceId,
      repoId,
      targetId: id,
      changes: {
        name: { after: body.name },
        aiType: { after: body.aiType },
        key: { after: key },
        ...(body.expiresAt ? { expiresAt: { after: body.expiresAt } } : {}),
        ...(body.models ? { models: { after: storedModels(body.models) } } : {}),
      },
    });
    return { success: true as const, id, key, secret };
  }),
  route(updateAiKey, async (c, input) => {
    const { repoId, apikeyId } = input.params;
    const body = input.body;
    const userId = c.var.userId;
    const address = { userId, repoId, apikeyId };
    const db = database(c.env.DB);
    const fields = {
      name: aiKeys.name,
      status: aiKeys.status,
      expiresAt: aiKeys.expiresAt,
      disabledReason: aiKeys.disabledReason,
      models: aiKeys.models,
    };
    const { member, key } = await memberAndKey(db, aiKeys, fields, address);
    if (!key) throw keyNotFound();
    UPDATE_AI_KEY.check(member);
    const enabling = body.status === "ACTIVE";
    if (enabling && key.disabledReason === "LEAKED") throw leakedKeyMustBeRolled();

    const changed = {
      name: body.name,
      status: body.status,
      expiresAt: body.expiresAt,
      models: body.models === undefined ? undefined : storedModels(body.models),
    };
    const updated = await db
      .update(aiKeys)
      .set({ ...changed, updatedAt: now() })
      .where(
        and(
          activeKey(aiKeys, apikeyId, repoId),
          // A leak reported meanwhile is not undone by this enable.
          enabling ? isNull(aiKeys.disabledReason) : undefined,
          holdsRole(member.workspaceId, userId, UPDATE_AI_KEY.roles),
        ),
      );
    // Verification answers with the status: this isolate must not answer the old one.
    forgetKey(apikeyId);
    if (updated.meta.changes === 0) {
      await refuseUnchanged(db, aiKeys, fields, address, {
        notFound: keyNotFound,
        check: (latest) => UPDATE_AI_KEY.check(latest),
      });
    }
    publishAudit(c, {
      type: "ai_apikey.updated",
      workspaceId: member.workspaceId,
      repoId,
      targetId: apikeyId,
      changes: changesOf(key, changed),
    });
    return { success: true as const, message: "AI API key updated" };
  }),
  rollRoute(rollAiKey, rollAi, "ai_apikey.rolled"),
  route(deleteAiKey, async (c, input) => {
    const { repoId, apikeyId } = input.params;
    const userId = c.var.userId;
    const address = { userId, repoId, apikeyId };
    const db = database(c.env.DB);
    const { member, key } = await memberAndKey(db, aiKeys, { name: aiKeys.name }, address);
    if (!key) throw keyNotFound();
    DELETE_AI_KEY.check(member);

    const deleted = await softDeleteKey(db, aiKeys, {
      keyId: apikeyId,
      repoId,
      by: userId,
      at: now(),
      guard: holdsRole(member.workspaceId, userId, DELETE_AI_KEY.roles),
    });
    if (deleted.meta.changes === 0) {
      await refuseUnchanged(db, aiKeys, { name: aiKeys.name }, address, {
        notFound: keyNotFound,
        check: (latest) => DELETE_AI_KEY.check(latest),
      });
    }
    publishAudit(c, {
      type: "ai_apikey.deleted",
      workspaceId: member.workspaceId,
      repoId,
      targetId: apikeyId,
      changes: { name: { before: key.name } },
    });
    return { success: true as const, message: "AI API key deleted" };
  }),
];
