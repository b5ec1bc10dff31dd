import { and, eq, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { holdsRole, type ScopedMember } from "../access/membership";
import type { Permission } from "../access/policy";
import type { AuditEventType } from "../audit/event";
import { publishAudit } from "../audit/publish";
import { keyringFrom, type SecretKind } from "../crypto/seal";
import { database, now } from "../db/client";
import { forgetKey } from "../db/key-memory";
import { activeKey } from "../db/key-rows";
import type { aiKeys, storageKeys } from "../db/schema";
import type { Bindings } from "../env";
import { ApiError } from "../http/error";
import { type Operation, type OperationHandler, route } from "../http/operation";
import { type KeyAddress, memberAndKey, refuseUnchanged } from "./existing";

type RollTable = typeof storageKeys | typeof aiKeys;

/** What rolling differs in between storage and AI keys. */
export interface RollKind<F extends Record<string, SQLiteColumn>> {
  table: RollTable;
  sealedAs: SecretKind;
  /** The columns the permission is decided on (e.g. the storage key's access level). */
  fields: F;
  newSecret(): string;
  /** Who may roll this key, as it is now. */
  permission(key: { [K in keyof F]: F[K]["_"]["data"] }, userId: string): Permission;
  /** Extra conditions the write re-checks (the access level it was authorized against). */
  unchanged?(key: { [K in keyof F]: F[K]["_"]["data"] }): SQL | undefined;
  notFound(): ApiError;
}

/**
 * Gives a key a new secret, keeping its id and access key / FB_AI_ key. The secret it replaces
 * becomes the previous one for `gracePeriodSeconds` (0: it stops at once), sealed to the
 * previous slot's own AAD; a previous secret already there is dropped, so there is at most one.
 * The write is a compare-and-swap on the secret that was read: of two rolls at once, one wins
 * and the other answers 409, so exactly one current and one previous secret remain.
 */
export async function rollKey<F extends Record<string, SQLiteColumn>>(
  env: Bindings,
  kind: RollKind<F>,
  address: KeyAddress,
  gracePeriodSeconds: number,
): Promise<{
  member: ScopedMember;
  key: string;
  secret: string;
  previousSecretExpiresAt: string | null;
}> {
  const { table } = kind;
  const db = database(env.DB);
  const fields = {
    ...kind.fields,
    key: table.key,
    sealedSecret: table.sealedSecret,
    disabledReason: table.disabledReason,
  };
  const { member, key: current } = await memberAndKey(db, table, fields, address);
  if (!current) throw kind.notFound();
  const permission = kind.permission(current, address.userId);
  permission.check(member);
  if (current.disabledReason === "LEAKED" && gracePeriodSeconds > 0) {
    throw new ApiError(
      "CONFLICT",
      "This key's secret was found in public: roll it without a grace period (the old secret must stop at once)",
    );
  }

  const keyring = keyringFrom(env.ENCRYPTION_KEYS);
  const binding = { kind: kind.sealedAs, repoId: address.repoId, keyId: address.apikeyId };
  const secret = kind.newSecret();
  const at = now();
  const graceEnds =
    gracePeriodSeconds > 0
      ? new Date(Date.parse(at) + gracePeriodSeconds * 1000).toISOString()
      : null;
  const previousSecret = graceEnds ? await keyring.open(current.sealedSecret, binding) : undefined;
  const values = {
    sealedSecret: await keyring.seal(secret, binding),
    previousSealedSecret: previousSecret
      ? await keyring.seal(previousSecret, { ...binding, slot: "previous" })
      : null,
    previousSecretExpiresAt: graceEnds,
    secretDigest: await keyring.digest(secret),
    previousSecretDigest: previousSecret ? await keyring.digest(previousSecret) : null,
    // The leaked secret is gone: the key may be enabled again (src/leaks).
    disabledReason: null,
    updatedAt: at,
  };
  const written = await db
    .update(table as typeof aiKeys)
    .set(values)
    .where(
      and(
        activeKey(table, address.apikeyId, address.repoId),
        eq(table.sealedSecret, current.sealedSecret),
        kind.unchanged?.(current),
        holdsRole(member.workspaceId, address.userId, permission.roles),
      ),
    );
  forgetKey(address.apikeyId);
  if (written.meta.changes === 0) {
    await refuseUnchanged(db, table, fields, address, {
      notFound: kind.notFound,
      check: (latest, key) => kind.permission(key, address.userId).check(latest),
    });
  }
  return { member, key: current.key, secret, previousSecretExpiresAt: graceEnds };
}

/**
 * The roll endpoint of a kind of key: the roll, its audit event (no secret in it), and the new
 * secret with the end of the old one's grace.
 */
export function rollRoute<O extends Operation, F extends Record<string, SQLiteColumn>>(
  operation: O,
  kind: RollKind<F>,
  type: Extract<AuditEventType, `${string}.rolled`>,
) {
  const handler: OperationHandler<O> = async (c, input) => {
    const { params, body } = input as unknown as {
      params: { repoId: string; apikeyId: string };
      body: { gracePeriodSeconds?: number };
    };
    const { repoId, apikeyId } = params;
    const address = { userId: c.var.userId, repoId, apikeyId };
    const rolled = await rollKey(c.env, kind, address, body.gracePeriodSeconds ?? 0);
    publishAudit(c, {
      type,
      workspaceId: rolled.member.workspaceId,
      repoId,
      targetId: apikeyId,
      changes: { previousSecretExpiresAt: { after: rolled.previousSecretExpiresAt } },
    });
    return {
      success: true as const,
      id: apikeyId,
      key: rolled.key,
      secret: rolled.secret,
      previousSecretExpiresAt: rolled.previousSecretExpiresAt,
    } as Awaited<ReturnType<OperationHandler<O>>>;
  };
  return route(operation, handler);
}
