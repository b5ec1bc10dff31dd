import { permissionTo } from "../access/policy";
import { atLeast } from "../access/roles";
import { publishAudit } from "../audit/publish";
import { newTemporaryAccessKeyId } from "../crypto/credentials";
import { keyringFrom } from "../crypto/seal";
import { database } from "../db/client";
import { keyState } from "../db/key-state";
import { storageKeys } from "../db/schema";
import { ApiError } from "../http/error";
import { defineOperation, route } from "../http/operation";
import { memberAndKey } from "../keys/existing";
import { RepoKeyParamsSchema } from "../keys/schemas";
import {
  DEFAULT_TTL_SECONDS,
  TemporaryCredentialsBodySchema,
  TemporaryCredentialsSchema,
} from "./schemas";
import { type SessionToken, sealSessionToken, secretGeneration, temporarySecret } from "./token";

export const issueTemporaryCredentials = defineOperation({
  method: "post",
  path: "/repo/{repoId}/apikey/{apikeyId}/temporary-credentials",
  operationId: "createTemporaryCredentials",
  summary:
    "Issue short-lived S3 credentials from a storage key, limited to a permission, prefixes and objects; nothing is stored",
  tags: ["Storage API keys"],
  params: RepoKeyParamsSchema,
  body: TemporaryCredentialsBodySchema,
  success: {
    status: 201,
    schema: TemporaryCredentialsSchema,
    description:
      "The access key id, secret (shown once) and session token, and the scope they carry",
  },
  errors: [404, 409],
});

const parentFields = {
  key: storageKeys.key,
  accessType: storageKeys.accessType,
  status: storageKeys.status,
  expiresAt: storageKeys.expiresAt,
  previousSecretExpiresAt: storageKeys.previousSecretExpiresAt,
  sealedSecret: storageKeys.sealedSecret,
};

export const temporaryCredentialRoutes = [
  route(issueTemporaryCredentials, async (c, input) => {
    const { repoId, apikeyId } = input.params;
    const body = input.body;
    const address = { userId: c.var.userId, repoId, apikeyId };
    // One read: the caller's membership and the parent key. No write: only the audit event.
    const { member, key: parent } = await memberAndKey(
      database(c.env.DB),
      storageKeys,
      parentFields,
      address,
    );
    if (!parent) throw new ApiError("NOT_FOUND", "API key not found in this repository");
    permissionTo("apikey.issueTemporaryCredentials", {
      resource: { accessType: parent.accessType },
    }).check(member);
    const now = Date.now();
    const state = keyState(parent, new Date(now).toISOString());
    if (state !== "ACTIVE") {
      throw new ApiError(
        "CONFLICT",
        `The key is ${state === "EXPIRED" ? "expired" : "disabled"}: only an active key issues temporary credentials`,
      );
    }
    if (!atLeast(parent.accessType, body.permission)) {
      throw new ApiError(
        "BAD_REQUEST",
        `permission ${body.permission} is above the key's own access (${parent.accessType})`,
        [{ path: "permission", message: `must be at most ${parent.accessType}` }],
      );
    }
    // To the second, and never past the parent's own expiry.
    const parentEnds = parent.expiresAt ? Math.floor(Date.parse(parent.expiresAt) / 1000) : null;
    const ttlEnds = Math.floor(now / 1000) + (body.ttlSeconds ?? DEFAULT_TTL_SECONDS);
    const expiresAt = parentEnds !== null && parentEnds < ttlEnds ? parentEnds : ttlEnds;

    const keyring = keyringFrom(c.env.ENCRYPTION_KEYS);
    const version = keyring.sealingVersion;
    const parentSecret = await keyring.open(parent.sealedSecret, {
      kind: "storage",
      repoId,
      keyId: apikeyId,
    });
    const accessKeyId = newTemporaryAccessKeyId();
    const token: SessionToken = {
      id: crypto.randomUUID(),
      repoId,
      parentKeyId: apikeyId,
      parentKey: parent.key,
      permission: body.permission,
      prefixes: body.prefixes ?? [],
      objects: body.objects ?? [],
      expiresAt,
      generation: await secretGeneration(keyring, version, parentSecret),
    };
    const sessionToken = await sealSessionToken(keyring, accessKeyId, token);
    const secretAccessKey = await temporarySecret(keyring, version, accessKeyId, token.id);
    const expiration = new Date(expiresAt * 1000).toISOString();

    publishAudit(c, {
      type: "apikey.temporary_credentials_issued",
      workspaceId: member.workspaceId,
      repoId,
      targetId: apikeyId,
      changes: {
        ...(body.name ? { name: { after: body.name } } : {}),
        key: { after: accessKeyId },
        permission: { after: body.permission },
        prefixes: { after: JSON.stringify(token.prefixes) },
        objects: { after: JSON.stringify(token.objects) },
        expiresAt: { after: expiration },
      },
    });
    return {
      success: true as const,
      accessKeyId,
      secretAccessKey,
      sessionToken,
      expiration,
      permission: token.permission,
      prefixes: token.prefixes,
      objects: token.objects,
      parentKeyId: apikeyId,
    };
  }),
];
