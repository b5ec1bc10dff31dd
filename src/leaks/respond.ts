import {
  isLegacyStorageSecret,
  isWellFormedAiSecret,
  isWellFormedStorageSecret,
} from "../crypto/credentials";
import { keyringFrom } from "../crypto/seal";
import { forgetKey } from "../db/key-memory";
import { previousSecretLive } from "../db/key-state";
import type { Bindings } from "../env";

/** One secret said to be public: where it was found (never stored with the secret). */
export interface LeakReport {
  token: string;
  /** GitHub's source (commit, gist_content, npm, …) or self_report. */
  source: string;
  url: string | null;
}

export type LeakKind = "storage" | "ai";
export type LeakResponse = "disable" | "revoke" | "notify";

/** A key a reported secret belongs to, as the report's answer and audit event need it. */
export interface LeakedKey {
  kind: LeakKind;
  id: string;
  name: string;
  repoId: string;
  workspaceId: string;
  leakResponse: LeakResponse;
}

export interface LeakOutcome {
  /** true_positive: a secret this service issued (acted on now or before); else false_positive. */
  label: "true_positive" | "false_positive";
  key?: LeakedKey;
}

export interface LeakResult {
  /** One per report, in order. */
  outcomes: LeakOutcome[];
  /** The keys this call changed (each once), with the report that changed it. */
  acted: { key: LeakedKey; report: LeakReport }[];
  /** D1 round trips taken: 0 (nothing well-formed), 1 (no key to act on) or 2. */
  roundTrips: number;
}

interface FoundRow {
  id: string;
  name: string;
  repoId: string;
  workspaceId: string;
  leakResponse: LeakResponse;
  status: "ACTIVE" | "INACTIVE";
  expiresAt: string | null;
  deletedAt: string | null;
  secretDigest: string | null;
  previousSecretDigest: string | null;
  previousSecretExpiresAt: string | null;
  leakedSecretDigest: string | null;
}

const TABLE_OF: Record<LeakKind, "storage_keys" | "ai_keys"> = {
  storage: "storage_keys",
  ai: "ai_keys",
};

// Every key whose current, previous or already-reported secret has one of the digests in ?1 (a
// JSON array): one statement per table whatever the number of secrets (D1 binds at most 100
// parameters), each branch served by its digest index.
const lookupIn = (table: string) => `SELECT k.id, k.name, k.repo_id AS repoId,
  r.workspace_id AS workspaceId, w.leak_response AS leakResponse, k.status,
  k.expires_at AS expiresAt, k.deleted_at AS deletedAt, k.secret_digest AS secretDigest,
  k.previous_secret_digest AS previousSecretDigest,
  k.previous_secret_expires_at AS previousSecretExpiresAt,
  k.leaked_secret_digest AS leakedSecretDigest
  FROM ${table} k JOIN repos r ON r.id = k.repo_id JOIN workspaces w ON w.id = r.workspace_id
  WHERE k.id IN (
    SELECT id FROM ${table} WHERE secret_digest IN (SELECT value FROM json_each(?1))
    UNION SELECT id FROM ${table} WHERE previous_secret_digest IN (SELECT value FROM json_each(?1))
    UNION SELECT id FROM ${table} WHERE leaked_secret_digest IN (SELECT value FROM json_each(?1)))`;

// The workspace's response to each key in ?1 (JSON [{id, digest, source, url, response}]), in
// one statement per table. A key whose leaked secret is already this one is left alone, so a
// report acts once however often it comes, and RETURNING names the keys that changed.
const actIn = (table: string) => `UPDATE ${table} SET
  status = CASE WHEN l.value ->> 'response' = 'notify' THEN ${table}.status ELSE 'INACTIVE' END,
  disabled_reason = CASE WHEN l.value ->> 'response' = 'notify' THEN ${table}.disabled_reason ELSE 'LEAKED' END,
  deleted_at = CASE WHEN l.value ->> 'response' = 'revoke' THEN ?2 ELSE ${table}.deleted_at END,
  deleted_by = CASE WHEN l.value ->> 'response' = 'revoke' THEN ?3 ELSE ${table}.deleted_by END,
  leaked_at = ?2, leak_source = l.value ->> 'source', leak_url = l.value ->> 'url',
  leaked_secret_digest = l.value ->> 'digest', updated_at = ?2
  FROM json_each(?1) AS l
  WHERE ${table}.id = l.value ->> 'id' AND ${table}.deleted_at IS NULL
    AND ${table}.leaked_secret_digest IS NOT l.value ->> 'digest'
  RETURNING ${table}.id AS id`;

/** Which kind of key `token` could be a secret of, judged offline (prefix and checksum). */
function kindOf(token: string, legacy: boolean): LeakKind | undefined {
  if (isWellFormedStorageSecret(token)) return "storage";
  if (isWellFormedAiSecret(token)) return "ai";
  // Secrets from before the fbsk_ form have no checksum: only their owner's own report finds them.
  if (legacy && isLegacyStorageSecret(token)) return "storage";
  return undefined;
}

/**
 * Finds the keys reported secrets belong to and applies each workspace's leak response
 * (disable, revoke or notify), in at most two D1 round trips however many secrets: one batched
 * lookup by keyed digest, one batched write. A key changed here is forgotten by this isolate's
 * verification memory at once. `legacy` also looks up storage secrets of the old form.
 */
export async function respondToLeaks(
  env: Bindings,
  reports: LeakReport[],
  {
    actor,
    legacy = false,
    now = new Date().toISOString(),
  }: { actor: string; legacy?: boolean; now?: string },
): Promise<LeakResult> {
  const keyring = keyringFrom(env.ENCRYPTION_KEYS);
  // digest → the first report of that secret, per kind
  const byDigest: Record<LeakKind, Map<string, number>> = { storage: new Map(), ai: new Map() };
  const seen = new Map<string, number>();
  const firstOf: number[] = [];
  await Promise.all(
    reports.map(async (report, index) => {
      const earlier = seen.get(report.token);
      if (earlier !== undefined) {
        firstOf[index] = earlier;
        return;
      }
      seen.set(report.token, index);
      firstOf[index] = index;
      const kind = kindOf(report.token, legacy);
      if (!kind) return;
      for (const digest of await keyring.digests(report.token)) byDigest[kind].set(digest, index);
    }),
  );

  const outcomes: LeakOutcome[] = reports.map(() => ({ label: "false_positive" }));
  const result: LeakResult = { outcomes, acted: [], roundTrips: 0 };
  const kinds = (["storage", "ai"] as const).filter((kind) => byDigest[kind].size > 0);
  if (kinds.length === 0) return result;

  const found = await env.DB.batch<FoundRow>(
    kinds.map((kind) =>
      env.DB.prepare(lookupIn(TABLE_OF[kind])).bind(JSON.stringify([...byDigest[kind].keys()])),
    ),
  );
  result.roundTrips = 1;

  const plans: Record<LeakKind, { key: LeakedKey; report: LeakReport; digest: string }[]> = {
    storage: [],
    ai: [],
  };
  kinds.forEach((kind, i) => {
    for (const row of found[i]?.results ?? []) {
      const digests = byDigest[kind];
      const key: LeakedKey = {
        kind,
        id: row.id,
        name: row.name,
        repoId: row.repoId,
        workspaceId: row.workspaceId,
        leakResponse: row.leakResponse,
      };
      // The secret that found the row, and whether it is one the key still accepts.
      const current = row.secretDigest !== null && digests.has(row.secretDigest);
      const previous =
        !current &&
        row.previousSecretDigest !== null &&
        digests.has(row.previousSecretDigest) &&
        previousSecretLive(row, now);
      const matched = [row.secretDigest, row.previousSecretDigest, row.leakedSecretDigest].find(
        (digest): digest is string => digest !== null && digests.has(digest),
      );
      if (matched === undefined) continue;
      const index = digests.get(matched) as number;
      outcomes[index] = { label: "true_positive", key };
      const live = (current || previous) && row.deletedAt === null;
      if (live && row.leakedSecretDigest !== matched) {
        plans[kind].push({ key, report: reports[index] as LeakReport, digest: matched });
      }
    }
  });
  // A repeated secret answers as its first report did.
  firstOf.forEach((first, index) => {
    if (first !== index) outcomes[index] = outcomes[first] as LeakOutcome;
  });

  const acting = kinds.filter((kind) => plans[kind].length > 0);
  if (acting.length === 0) return result;
  const written = await env.DB.batch<{ id: string }>(
    acting.map((kind) => {
      // One change per key, from its first report in this batch.
      const once = new Map(plans[kind].map((plan) => [plan.key.id, plan]));
      plans[kind] = [...once.values()];
      const rows = plans[kind].map(({ key, report, digest }) => ({
        id: key.id,
        digest,
        source: report.source,
        url: report.url,
        response: key.leakResponse,
      }));
      return env.DB.prepare(actIn(TABLE_OF[kind])).bind(JSON.stringify(rows), now, actor);
    }),
  );
  result.roundTrips = 2;
  acting.forEach((kind, i) => {
    const changed = new Set((written[i]?.results ?? []).map((row) => row.id));
    for (const plan of plans[kind]) {
      if (!changed.has(plan.key.id)) continue;
      // Verification must not answer from the row it remembered before the leak.
      forgetKey(plan.key.id);
      result.acted.push({ key: plan.key, report: plan.report });
    }
  });
  return result;
}
