import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { asMember, repoMembershipQuery, type ScopedMember } from "../access/membership";
import type { Database } from "../db/client";
import { activeKey, type KeyTable } from "../db/key-rows";
import { ApiError, insufficientPermissions } from "../http/error";

export interface KeyAddress {
  userId: string;
  repoId: string;
  apikeyId: string;
}

/**
 * The caller's membership and the repo's active key `apikeyId` (the `fields` asked for), in one
 * round trip. A non-member gets 403 before anything about the key is said; `key` is undefined
 * when the repo has no such active key (revoked, unknown, or another repo's).
 */
export async function memberAndKey<F extends Record<string, SQLiteColumn>>(
  db: Database,
  table: KeyTable,
  fields: F,
  { userId, repoId, apikeyId }: KeyAddress,
): Promise<{ member: ScopedMember; key: { [K in keyof F]: F[K]["_"]["data"] } | undefined }> {
  const [membership, rows] = await db.batch([
    repoMembershipQuery(db, userId, repoId),
    db
      .select(fields as Record<string, SQLiteColumn>)
      .from(table)
      .where(activeKey(table, apikeyId, repoId)),
  ]);
  const member = asMember(userId, membership);
  if (!member) throw insufficientPermissions();
  return { member, key: rows[0] as { [K in keyof F]: F[K]["_"]["data"] } | undefined };
}

/** A plain re-enable of a key disabled because its secret leaked (src/leaks). */
export const leakedKeyMustBeRolled = () =>
  new ApiError(
    "CONFLICT",
    "This key was disabled because its secret was found in public: roll it (POST …/roll) before enabling it again",
  );

/**
 * A guarded write on a key changed nothing: reads the membership and the key again and throws
 * what the request now deserves. 403 if the caller is no longer a member or no longer allowed,
 * 404 if the key was revoked meanwhile, 409 if the key itself changed under the request.
 */
export async function refuseUnchanged<F extends Record<string, SQLiteColumn>>(
  db: Database,
  table: KeyTable,
  fields: F,
  address: KeyAddress,
  {
    notFound,
    check,
  }: {
    notFound: () => ApiError;
    /** Throws 403 unless the caller, as things now stand, may still do it to this key. */
    check: (member: ScopedMember, key: { [K in keyof F]: F[K]["_"]["data"] }) => void;
  },
): Promise<never> {
  const { member, key } = await memberAndKey(db, table, fields, address);
  if (!key) throw notFound();
  check(member, key);
  throw new ApiError(
    "CONFLICT",
    "The API key was changed while this request ran; reload it and try again",
  );
}
