/**
 * What a key's stored lifecycle columns mean at a moment: one rule for the lists and for the
 * verification plane. Timestamps are ISO 8601 UTC strings, which compare as they sort.
 */
export interface KeyLifecycle {
  status: "ACTIVE" | "INACTIVE";
  expiresAt: string | null;
  previousSecretExpiresAt: string | null;
}

/** EXPIRED once expiresAt has passed, whatever the switch says; else the switch. */
export function keyState(key: KeyLifecycle, now: string): "ACTIVE" | "INACTIVE" | "EXPIRED" {
  return key.expiresAt !== null && key.expiresAt <= now ? "EXPIRED" : key.status;
}

/** Whether a rolled key's previous secret is still in its grace period. */
export function previousSecretLive(key: KeyLifecycle, now: string): boolean {
  return key.previousSecretExpiresAt !== null && key.previousSecretExpiresAt > now;
}

/** A listed key as a client sees it now: computed state, a grace period only while it lasts. */
export function asListed<Row extends KeyLifecycle>(
  row: Row,
  now: string,
): Omit<Row, "status"> & { status: "ACTIVE" | "INACTIVE" | "EXPIRED" } {
  const status = keyState(row, now);
  const previousSecretExpiresAt = previousSecretLive(row, now) ? row.previousSecretExpiresAt : null;
  return { ...row, status, previousSecretExpiresAt };
}

/** Why a key whose secret was proven may still not be used, in the order they are told. */
export const UNUSABLE = {
  REVOKED: "The key has been deleted",
  DISABLED: "The key is disabled",
  EXPIRED: "The key has expired",
} as const;

/** REVOKED (deleted), DISABLED (INACTIVE) or EXPIRED; undefined when the key may be used. */
export function unusable(
  key: KeyLifecycle & { deletedAt: string | null },
  now: string,
): keyof typeof UNUSABLE | undefined {
  if (key.deletedAt) return "REVOKED";
  const state = keyState(key, now);
  return state === "INACTIVE" ? "DISABLED" : state === "EXPIRED" ? "EXPIRED" : undefined;
}
