// The bench database: the migrations applied by hand (Miniflare's D1 starts empty), then a
// workspace with two repos seeded through the API itself, so every row is one the Worker wrote.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

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
 * keys, and an empty "created" repo that the create runs write into (so the lists stay at 100).
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
  return { workspaceId: workspace.id, listedRepoId: listed.id, createdRepoId: created.id };
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
