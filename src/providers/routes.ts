import { and, asc, eq, sql } from "drizzle-orm";
import * as z from "zod";
import { asMember, holdsRole, readableRepo, repoMembershipQuery } from "../access/membership";
import { permissionTo } from "../access/policy";
import { publishAudit } from "../audit/publish";
import { keyringFrom } from "../crypto/seal";
import { database, now } from "../db/client";
import { forgetKey } from "../db/key-memory";
import { aiProviders } from "../db/schema";
import { ApiError, insufficientPermissions } from "../http/error";
import { defineOperation, route } from "../http/operation";
import { RepoParamsSchema } from "../keys/schemas";
import { acceptedBaseUrl, loopbackAllowed } from "./base-url";
import {
  type AiProviderSchema,
  ProviderListSchema,
  ProviderParamsSchema,
  SetProviderBodySchema,
  SetProviderResponseSchema,
} from "./schemas";
import { effectiveBaseUrl, providerBinding, providerMemoryId } from "./store";

const tags = ["AI providers"];
const LIST_PROVIDERS = permissionTo("aiProvider.list");
const MANAGE_PROVIDERS = permissionTo("aiProvider.manage");
const providerNotFound = () =>
  new ApiError("NOT_FOUND", "No provider key of this type is set for this repository");

export const listProviders = defineOperation({
  method: "get",
  path: "/repo/{repoId}/ai/provider",
  operationId: "getRepoAiProviders",
  summary: "The AI provider keys set for a repository (never the keys: their last 4 characters)",
  tags,
  params: RepoParamsSchema,
  success: {
    status: 200,
    schema: ProviderListSchema,
    description: "The configured providers, by type",
  },
});

export const setProvider = defineOperation({
  method: "put",
  path: "/repo/{repoId}/ai/provider/{aiType}",
  operationId: "setRepoAiProvider",
  summary: "Set or replace the repository's key at an AI provider (ADMIN); it is stored sealed",
  tags,
  params: ProviderParamsSchema,
  body: SetProviderBodySchema,
  success: {
    status: 200,
    schema: SetProviderResponseSchema,
    description: "Set; the answer shows the key's last 4 characters only",
  },
});

export const removeProvider = defineOperation({
  method: "delete",
  path: "/repo/{repoId}/ai/provider/{aiType}",
  operationId: "deleteRepoAiProvider",
  summary: "Remove the repository's key at an AI provider (ADMIN)",
  tags,
  params: ProviderParamsSchema,
  success: { status: 204, schema: z.void(), description: "Removed" },
  errors: [404],
});

const listedColumns = {
  aiType: aiProviders.aiType,
  baseUrl: aiProviders.baseUrl,
  apiKeyLast4: aiProviders.apiKeyLast4,
  setAt: aiProviders.setAt,
  setBy: aiProviders.setBy,
};

type Listed = z.input<typeof AiProviderSchema>;
const asListed = (row: Listed): Listed => ({
  ...row,
  baseUrl: effectiveBaseUrl(row.aiType, row.baseUrl),
});

export const providerRoutes = [
  route(listProviders, async (c, input) => {
    const { repoId } = input.params;
    const userId = c.var.userId;
    const db = database(c.env.DB);
    // Rows come only while the caller may list them: a refused read touches no provider row.
    const [membership, rows] = await db.batch([
      repoMembershipQuery(db, userId, repoId),
      db
        .select(listedColumns)
        .from(aiProviders)
        .where(eq(aiProviders.repoId, readableRepo(repoId, userId, LIST_PROVIDERS.roles)))
        .orderBy(asc(aiProviders.aiType)),
    ]);
    LIST_PROVIDERS.check(asMember(userId, membership));
    return { success: true as const, providers: rows.map(asListed) };
  }),
  route(setProvider, async (c, input) => {
    const { repoId, aiType } = input.params;
    const { apiKey } = input.body;
    const userId = c.var.userId;
    const own = new URL(c.req.url).host;
    const baseUrl =
      input.body.baseUrl === undefined
        ? null
        : acceptedBaseUrl(input.body.baseUrl, {
            ownHost: own,
            allowLoopback: loopbackAllowed(c.env),
          });
    if (baseUrl === null && aiType === "OTHER") {
      throw new ApiError(
        "VALIDATION_FAILED",
        "Invalid request body. baseUrl: is required for OTHER (an OpenAI-compatible server)",
        [{ path: "baseUrl", message: "is required for OTHER (an OpenAI-compatible server)" }],
      );
    }
    const db = database(c.env.DB);
    const [membership, previousRows] = await db.batch([
      repoMembershipQuery(db, userId, repoId),
      db
        .select({ baseUrl: aiProviders.baseUrl, apiKeyLast4: aiProviders.apiKeyLast4 })
        .from(aiProviders)
        .where(and(eq(aiProviders.repoId, repoId), eq(aiProviders.aiType, aiType))),
    ]);
    const member = MANAGE_PROVIDERS.check(asMember(userId, membership));
    const previous = previousRows[0];

    const sealedApiKey = await keyringFrom(c.env.ENCRYPTION_KEYS).seal(
      apiKey,
      providerBinding(repoId, aiType),
    );
    const row = {
      repoId,
      aiType,
      sealedApiKey,
      apiKeyLast4: apiKey.slice(-4),
      baseUrl,
      setAt: now(),
      setBy: userId,
    };
    // Written only while the caller is still an ADMIN there: a demotion in flight sets nothing.
    const written = await db
      .insert(aiProviders)
      .select(
        // The table's columns in order; SQLite needs the WHERE before an upsert's ON CONFLICT.
        sql`SELECT ${row.repoId}, ${row.aiType}, ${row.sealedApiKey}, ${row.apiKeyLast4}, ${row.baseUrl}, ${row.setAt}, ${row.setBy} WHERE ${holdsRole(member.workspaceId, userId, MANAGE_PROVIDERS.roles)}`,
      )
      .onConflictDoUpdate({
        target: [aiProviders.repoId, aiProviders.aiType],
        set: {
          sealedApiKey: row.sealedApiKey,
          apiKeyLast4: row.apiKeyLast4,
          baseUrl: row.baseUrl,
          setAt: row.setAt,
          setBy: row.setBy,
        },
      });
    if (written.meta.changes === 0) throw insufficientPermissions();
    forgetKey(providerMemoryId(repoId, aiType));

    const shown = effectiveBaseUrl(aiType, baseUrl);
    const shownBefore = previous ? effectiveBaseUrl(aiType, previous.baseUrl) : null;
    publishAudit(c, {
      type: "ai_provider.set",
      workspaceId: member.workspaceId,
      repoId,
      targetId: aiType,
      changes: {
        aiType: { after: aiType },
        apiKeyLast4: {
          ...(previous ? { before: previous.apiKeyLast4 } : {}),
          after: row.apiKeyLast4,
        },
        ...(shown !== shownBefore || !previous
          ? { baseUrl: { ...(previous ? { before: shownBefore } : {}), after: shown } }
          : {}),
      },
    });
    return {
      success: true as const,
      aiType,
      baseUrl: shown,
      apiKeyLast4: row.apiKeyLast4,
      setAt: row.setAt,
      setBy: userId,
    };
  }),
  route(removeProvider, async (c, input) => {
    const { repoId, aiType } = input.params;
    const userId = c.var.userId;
    const db = database(c.env.DB);
    const [membership] = await db.batch([repoMembershipQuery(db, userId, repoId)]);
    const member = MANAGE_PROVIDERS.check(asMember(userId, membership));
    const removed = await db
      .delete(aiProviders)
      .where(
        and(
          eq(aiProviders.repoId, repoId),
          eq(aiProviders.aiType, aiType),
          holdsRole(member.workspaceId, userId, MANAGE_PROVIDERS.roles),
        ),
      )
      .returning({ apiKeyLast4: aiProviders.apiKeyLast4, baseUrl: aiProviders.baseUrl });
    const gone = removed[0];
    forgetKey(providerMemoryId(repoId, aiType));
    if (!gone) {
      // Nothing deleted: no such provider, or the caller lost ADMIN meanwhile.
      const [latest] = await db.batch([repoMembershipQuery(db, userId, repoId)]);
      MANAGE_PROVIDERS.check(asMember(userId, latest));
      throw providerNotFound();
    }
    publishAudit(c, {
      type: "ai_provider.removed",
      workspaceId: member.workspaceId,
      repoId,
      targetId: aiType,
      changes: {
        aiType: { before: aiType },
        apiKeyLast4: { before: gone.apiKeyLast4 },
        baseUrl: { before: effectiveBaseUrl(aiType, gone.baseUrl) },
      },
    });
  }),
];
