import { and } from "drizzle-orm";
import { asMember, holdsRole, repoMembership } from "../access/membership";
import { authorize, permissionTo } from "../access/policy";
import { publishAudit } from "../audit/publish";
import { newAiCredentials } from "../crypto/credentials";
import { database, now } from "../db/client";
import {
  activeKey,
  activeKeysRead,
  insertAiKey,
  quotaSetting,
  softDeleteKey,
} from "../db/key-rows";
import { readBatch } from "../db/prepared";
import { aiKeys } from "../db/schema";
import { ApiError } from "../http/error";
import { defineOperation, route } from "../http/operation";
import { MessageResponseSchema } from "../http/schemas";
import { memberAndKey, refuseUnchanged } from "../keys/existing";
import { issueKey, type KeyKind } from "../keys/issue";
import { RepoKeyParamsSchema, RepoParamsSchema } from "../keys/schemas";
import {
  AiKeyListSchema,
  CreateAiKeyBodySchema,
  CreatedAiKeySchema,
  UpdateAiKeyBodySchema,
} from "./schemas";

const tags = ["AI API keys"];
const CREATE_AI_KEY = permissionTo("aiApikey.create");
const RENAME_AI_KEY = permissionTo("aiApikey.update");
const DELETE_AI_KEY = permissionTo("aiApikey.delete");
const keyNotFound = () => new ApiError("NOT_FOUND", "AI API key not found in this repository");

export const listAiKeys = defineOperation({
  method: "get",
  path: "/repo/{repoId}/ai/apikey",
  operationId: "getRepoAiApiKeys",
  summary: "List a repository's active AI keys, newest first",
  tags,
  params: RepoParamsSchema,
  success: {
    status: 200,
    schema: AiKeyListSchema,
    description: "Active AI keys; never their secrets",
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
  summary: "Rename an AI key (nothing else can change)",
  tags,
  params: RepoKeyParamsSchema,
  body: UpdateAiKeyBodySchema,
  success: { status: 200, schema: MessageResponseSchema, description: "Renamed" },
  errors: [404],
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
const activeAiKeys = activeKeysRead(aiKeys, {
  id: aiKeys.id,
  name: aiKeys.name,
  repoId: aiKeys.repoId,
  key: aiKeys.key,
  aiType: aiKeys.aiType,
  createdAt: aiKeys.createdAt,
  deletedAt: aiKeys.deletedAt,
});

const aiKeyKind = {
  sealedAs: "ai",
  insert: insertAiKey,
  quota: (env) => quotaSetting(env.AI_KEY_QUOTA),
  credentials: newAiCredentials,
  digested: true,
  plural: "AI keys",
} satisfies KeyKind<Parameters<typeof insertAiKey>[1]>;

export const aiKeyRoutes = [
  route(listAiKeys, async (c, input) => {
    const { repoId } = input.params;
    const userId = c.var.userId;
    const d1 = c.env.DB;
    const [membership, apiKeys] = await readBatch(d1, [
      repoMembership(d1, { userId, repoId }),
      activeAiKeys(d1, { repoId }),
    ]);
    authorize(asMember(userId, membership), "aiApikey.list");
    return { success: true as const, apiKeys };
  }),
  route(createAiKey, async (c, input) => {
    const { repoId } = input.params;
    const body = input.body;
    const userId = c.var.userId;
    const { member, id, key, secret } = await issueKey(c.env, aiKeyKind, {
      repoId,
      userId,
      fields: { name: body.name, aiType: body.aiType },
      permission: CREATE_AI_KEY,
    });
    publishAudit(c, {
      type: "ai_apikey.created",
      workspaceId: member.workspaceId,
      repoId,
      targetId: id,
      changes: { name: { after: body.name }, aiType: { after: body.aiType }, key: { after: key } },
    });
    return { success: true as const, id, key, secret };
  }),
  route(updateAiKey, async (c, input) => {
    const { repoId, apikeyId } = input.params;
    const { name } = input.body;
    const userId = c.var.userId;
    const address = { userId, repoId, apikeyId };
    const db = database(c.env.DB);
    const { member, key } = await memberAndKey(db, aiKeys, { name: aiKeys.name }, address);
    if (!key) throw keyNotFound();
    RENAME_AI_KEY.check(member);

    const updated = await db
      .update(aiKeys)
      .set({ name, updatedAt: now() })
      .where(
        and(
          activeKey(aiKeys, apikeyId, repoId),
          holdsRole(member.workspaceId, userId, RENAME_AI_KEY.roles),
        ),
      );
    if (updated.meta.changes === 0) {
      await refuseUnchanged(db, aiKeys, { name: aiKeys.name }, address, {
        notFound: keyNotFound,
        check: (latest) => RENAME_AI_KEY.check(latest),
      });
    }
    publishAudit(c, {
      type: "ai_apikey.updated",
      workspaceId: member.workspaceId,
      repoId,
      targetId: apikeyId,
      changes: key.name === name ? {} : { name: { before: key.name, after: name } },
    });
    return { success: true as const, message: "AI API key updated" };
  }),
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
