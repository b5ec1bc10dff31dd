// The bench database: the migrations applied by hand (Miniflare's D1 starts empty), then a
// workspace with three repos seeded through the API itself, so every row is one the Worker wrote.
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
 * a "verified" repo with one storage key and one AI key for the verification plane (apart, so
 * that emptying the created repo never revokes them).
 */
export async function seed(baseUrl, token) {
  const workspace = await call(baseUrl, token, "POST", "/workspace", { name: "bench" });
  const repo = (name) => call(baseUrl, token, "POST", "/repo", { name, workspaceId: workspace.id });
  const listed = await repo("listed");
  const created = await repo("created");
  const access = ["READ", "WRITE", "ADMIN"];
  const ai = ["OPENAI", "GOOGLE", "ANTHROPIC", "AWS", "OTHER"];
  // One at a time, so created_at differs and the newest-first order is the same on every run.
  for (let i = 0; i < SEEDED_KEYS; i++) {
    await call(baseUrl, token, "POST", `/repo/${listed.id}/apikey`, {
      name: `storage key ${i}`,
      accessType: access[i % access.length],
    });
    await call(baseUrl, token, "POST", `/repo/${listed.id}/ai/apikey`, {
      name: `ai key ${i}`,
      aiType: ai[i % ai.length],
    });
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
  return {
    workspaceId: workspace.id,
    listedRepoId: listed.id,
    createdRepoId: created.id,
    verifiedRepoId: verified.id,
    storageKey: { id: storageKey.id, key: storageKey.key, secret: storageKey.secret },
    aiKey: { id: aiKey.id, key: aiKey.key, secret: aiKey.secret },
  };
}

const S3_HOST = "s3.flashgate.bench";
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/**
 * The body a gateway POSTs to /verify/s3 for a header-signed GetObject, signed now by AWS's own
 * signer as S3 clients configure it (no double-encoded path). S3 refuses a signature more than
 * 15 minutes old, so the bench signs at its start (and again if a run were to last that long).
 */
export async function signedS3Body({ key, secret }, repoId) {
  const signer = new SignatureV4({
    credentials: { accessKeyId: key, secretAccessKey: secret },
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
