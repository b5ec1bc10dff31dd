// The bench database: the migrations applied by hand (Miniflare's D1 starts empty), then a
// workspace with three repos seeded through the API itself, so every row is one the Worker wrote.
import { createHash, randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";

export const SEEDED_KEYS = 100;

/** Runs every migrations/*.sql in order, one statement per drizzle-kit breakpoint. */
export async function applyMigrations(db, migrationsDir) {
  const files = readdirSync(migrationsDir)
    .filter((name) => name.endsWith(".sql"))
    .sort();
  for (const file of files) {
    const statements = readFileSync(join(migrationsDir, file), "utf8")
      .split("--> statement-breakpoint")
      .map((sql) => sql.trim())
      .filter(Boolean);
    await db.batch(statements.map((sql) => db.prepare(sql)));
  }
}

async function call(baseUrl, token, method, path, body) {
  const response = await fetch(new URL(path, baseUrl), {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      ...(body ? { "Content-Type": "application/json" } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await response.json();
  if (!response.ok)
    throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

/**
 * A workspace owned by the bench user with a "listed" repo holding 100 storage keys and 100 AI
 * keys, an empty "created" repo that the create runs write into (so the lists stay at 100), and
 * a "verified" repo with one storage key and one AI key for the verification plane and the S3
 * gateway (apart, so that emptying the created repo never revokes them).
 *
 * Keys in every state of their lifecycle, so that the floors' answers are checked on each:
 * in both lists a few keys are disabled, expiring, rolled with a grace period running, rolled
 * with one over, and expired; the verified repo has one key of each kind in those states (and
 * a READ storage key), for the verifications to refuse or accept. The API refuses an expiry or
 * a grace end in the past, so those two are written into the rows (`db`) after the fact.
 */
export async function seed(baseUrl, token, db) {
  const workspace = await call(baseUrl, token, "POST", "/workspace", { name: "bench" });
  const repo = (name) => call(baseUrl, token, "POST", "/repo", { name, workspaceId: workspace.id });
  const listed = await repo("listed");
  const created = await repo("created");
  const access = ["READ", "WRITE", "ADMIN"];
  const ai = ["OPENAI", "GOOGLE", "ANTHROPIC", "AWS", "OTHER"];
  const listedKeys = { storage: [], ai: [] };
  // One at a time, so created_at differs and the newest-first order is the same on every run.
  for (let i = 0; i < SEEDED_KEYS; i++) {
    const storage = await call(baseUrl, token, "POST", `/repo/${listed.id}/apikey`, {
      name: `storage key ${i}`,
      accessType: access[i % access.length],
    });
    const aiKey = await call(baseUrl, token, "POST", `/repo/${listed.id}/ai/apikey`, {
      name: `ai key ${i}`,
      aiType: ai[i % ai.length],
    });
    listedKeys.storage.push(storage);
    listedKeys.ai.push(aiKey);
  }
  const lifecycle = lifecycleOf(baseUrl, token, db);
  for (const [kind, keys] of Object.entries(listedKeys)) {
    for (const [i, state] of LIFECYCLE_STATES.entries()) {
      await lifecycle(kind, listed.id, keys[10 * i + 3], state);
    }
  }

  const verified = await repo("verified");
  const storageKey = await call(baseUrl, token, "POST", `/repo/${verified.id}/apikey`, {
    name: "verified storage key",
    accessType: "WRITE",
  });
  const aiKey = await call(baseUrl, token, "POST", `/repo/${verified.id}/ai/apikey`, {
    name: "verified ai key",
    aiType: "ANTHROPIC",
  });
  const readKey = await call(baseUrl, token, "POST", `/repo/${verified.id}/apikey`, {
    name: "verified read-only key",
    accessType: "READ",
  });
  // Per kind and state, the secrets a gateway could present: the key's own, and after a roll
  // the previous one too.
  const states = { storage: {}, ai: {} };
  for (const kind of ["storage", "ai"]) {
    for (const state of LIFECYCLE_STATES) {
      const path = kind === "storage" ? "apikey" : "ai/apikey";
      const key = await call(baseUrl, token, "POST", `/repo/${verified.id}/${path}`, {
        name: `verified ${state} key`,
        ...(kind === "storage" ? { accessType: "WRITE" } : { aiType: "OPENAI" }),
      });
      const after = await lifecycle(kind, verified.id, key, state);
      states[kind][state] = { id: key.id, key: key.key, ...after };
    }
  }
  const credentials = ({ id, key, secret }) => ({ id, key, secret });
  return {
    workspaceId: workspace.id,
    listedRepoId: listed.id,
    createdRepoId: created.id,
    verifiedRepoId: verified.id,
    storageKey: credentials(storageKey),
    aiKey: credentials(aiKey),
    readKey: credentials(readKey),
    states,
  };
}

/** The states a key is put in besides ACTIVE (see `lifecycleOf`). */
export const LIFECYCLE_STATES = ["disabled", "expiring", "in-grace", "grace-over", "expired"];

/**
 * Puts a key in a state: "disabled" (status INACTIVE), "expiring" (expiresAt in 30 days),
 * "in-grace" (rolled, the previous secret working for an hour), "grace-over" (rolled, the
 * grace ended a minute ago) or "expired" (expiresAt a minute ago). Answers the secrets it now
 * has: `secret` (current) and `previousSecret` after a roll.
 */
function lifecycleOf(baseUrl, token, db) {
  const past = () => new Date(Date.now() - 60_000).toISOString();
  return async (kind, repoId, key, state) => {
    const path = `/repo/${repoId}/${kind === "storage" ? "apikey" : "ai/apikey"}/${key.id}`;
    const table = kind === "storage" ? "storage_keys" : "ai_keys";
    const setColumn = (column) =>
      db.prepare(`UPDATE ${table} SET ${column} = ?1 WHERE id = ?2`).bind(past(), key.id).run();
    switch (state) {
      case "disabled":
        await call(baseUrl, token, "PUT", path, { status: "INACTIVE" });
        return { secret: key.secret };
      case "expiring":
        await call(baseUrl, token, "PUT", path, {
          expiresAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
        });
        return { secret: key.secret };
      case "in-grace":
      case "grace-over": {
        const rolled = await call(baseUrl, token, "POST", `${path}/roll`, {
          gracePeriodSeconds: 3600,
        });
        if (state === "grace-over") await setColumn("previous_secret_expires_at");
        return { secret: rolled.secret, previousSecret: key.secret };
      }
      case "expired":
        await setColumn("expires_at");
        return { secret: key.secret };
      default:
        throw new Error(`unknown state ${state}`);
    }
  };
}

const S3_HOST = "s3.flashgate.bench";
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/**
 * The body a gateway POSTs to /verify/s3 for a header-signed GetObject, signed now by AWS's own
 * signer as S3 clients configure it (no double-encoded path). S3 refuses a signature more than
 * 15 minutes old, so the bench signs at its start (and again if a run were to last that long).
 */
export async function signedS3Body({ key, secret, sessionToken }, repoId) {
  const signer = new SignatureV4({
    // sessionToken: a temporary credential's, signed in as x-amz-security-token.
    credentials: { accessKeyId: key, secretAccessKey: secret, sessionToken },
    region: "us-east-1",
    service: "s3",
    sha256: Sha256,
    uriEscapePath: false,
  });
  const path = `/${repoId}/photos/2026/cat%20picture.jpg`;
  const signed = await signer.sign({
    method: "GET",
    protocol: "https:",
    hostname: S3_HOST,
    path,
    query: {},
    headers: {
      host: S3_HOST,
      "x-amz-content-sha256": EMPTY_SHA256,
      "user-agent": "aws-sdk-js/3 bench",
    },
    body: "",
  });
  return {
    method: "GET",
    url: `https://${S3_HOST}${path}`,
    headers: signed.headers,
    requiredAccess: "READ",
  };
}

/** Soft-deletes what the create runs wrote, so each run starts from the same active-key count. */
export async function resetCreatedRepo(db, repoId) {
  const at = new Date().toISOString();
  await db
    .prepare(
      "UPDATE storage_keys SET deleted_at = ?, deleted_by = 'bench', updated_at = ? WHERE repo_id = ? AND deleted_at IS NULL",
    )
    .bind(at, at, repoId)
    .run();
}

/** The object the gateway runs GET and PUT: 1 MiB of random bytes, with its hashes. */
export function benchObject(bytes = 1024 * 1024) {
  const body = randomBytes(bytes);
  return {
    body,
    sha256: createHash("sha256").update(body).digest("hex"),
    md5: createHash("md5").update(body).digest("hex"),
  };
}

/**
 * The headers of a request to the S3 gateway (or its floor) at `url`, header-signed now as AWS
 * SDKs sign for path-style S3 (region auto, no double-encoded path), the payload's hex SHA-256
 * in x-amz-content-sha256 (the empty body's for a GET). `host` is left out (unless
 * `withHost`: a request made inside a Worker): the HTTP client sends it from the URL, as signed.
 */
export async function signedGatewayHeaders(
  { key, secret },
  { method, url, payloadHash, withHost = false },
) {
  const { hostname, host, port, pathname } = new URL(url);
  const signer = new SignatureV4({
    credentials: { accessKeyId: key, secretAccessKey: secret },
    region: "auto",
    service: "s3",
    sha256: Sha256,
    uriEscapePath: false,
  });
  const signed = await signer.sign({
    method,
    protocol: "http:",
    hostname,
    port: port ? Number(port) : undefined,
    path: pathname,
    query: {},
    headers: {
      host,
      "x-amz-content-sha256": payloadHash ?? EMPTY_SHA256,
      ...(method === "PUT" ? { "content-type": "application/octet-stream" } : {}),
    },
  });
  if (withHost) return signed.headers;
  const { host: _, ...headers } = signed.headers;
  return headers;
}
