import { asMember, repoMembership, type ScopedMember } from "../access/membership";
import type { Permission } from "../access/policy";
import { keyringFrom, type SecretKind } from "../crypto/seal";
import { now } from "../db/client";
import type { NewKeyValues } from "../db/key-rows";
import type { aiKeys, storageKeys } from "../db/schema";
import type { Bindings } from "../env";
import { ApiError } from "../http/error";

/** The columns `issueKey` fills in itself, whatever the kind of key. */
type Issued =
  | "id"
  | "repoId"
  | "key"
  | "sealedSecret"
  | "secretDigest"
  | "createdBy"
  | "createdAt"
  | "updatedAt";

type Values = NewKeyValues<typeof storageKeys, never> | NewKeyValues<typeof aiKeys, never>;

/** What differs between storage and AI keys when one is created. */
export interface KeyKind<V extends Values> {
  /** Names the kind in the sealed secret's AAD. */
  sealedAs: SecretKind;
  /** The quota- and role-checked insert of src/db/key-rows.ts. */
  insert(d1: D1Database, values: V): D1PreparedStatement;
  quota(env: Bindings): number;
  credentials(): { key: string; secret: string };
  /** For the quota message: "storage keys", "AI keys". */
  plural: string;
}

export interface KeyRequest<V> {
  repoId: string;
  userId: string;
  /** The kind's own columns (name, accessType or aiType). */
  fields: Omit<V, Issued | "quota" | "creatorRoles">;
  /** Who may create this key (`permissionTo`): checked on the membership read and in the insert. */
  permission: Permission;
}

/**
 * Creates a key in one D1 round trip: the caller's membership is read and the row inserted in
 * one batch, and the insert itself re-checks the caller's role and the repo's quota, so what
 * the membership read authorizes is exactly what the insert sees. Fresh credentials, the secret
 * sealed to its row; the secret leaves only through the returned value.
 */
export async function issueKey<V extends Values>(
  env: Bindings,
  kind: KeyKind<V>,
  { repoId, userId, fields, permission }: KeyRequest<V>,
): Promise<{ member: ScopedMember; id: string; key: string; secret: string }> {
  const id = crypto.randomUUID();
  const { key, secret } = kind.credentials();
  const keyring = keyringFrom(env.ENCRYPTION_KEYS);
  const sealedSecret = await keyring.seal(secret, { kind: kind.sealedAs, repoId, keyId: id });
  // Every key stores its secret's keyed digest: verification (AI) and leak reports find it by it.
  const secretDigest = await keyring.digest(secret);
  const at = now();
  const quota = kind.quota(env);
  const values = {
    ...fields,
    id,
    repoId,
    key,
    sealedSecret,
    secretDigest,
    createdBy: userId,
    createdAt: at,
    updatedAt: at,
    quota,
    creatorRoles: JSON.stringify(permission.roles),
  } as unknown as V;
  const membership = repoMembership(env.DB, { userId, repoId });
  const [read, inserted] = await env.DB.batch([membership.statement, kind.insert(env.DB, values)]);
  // Refused callers wrote nothing: the insert's role check is the policy's own rule.
  const member = permission.check(asMember(userId, membership.rowsOf(read)));
  if (inserted?.meta.changes !== 1) {
    throw new ApiError(
      "QUOTA_EXCEEDED",
      `This repository already has ${quota} active ${kind.plural}; delete one before creating another`,
    );
  }
  return { member, id, key, secret };
}
