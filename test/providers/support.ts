import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { type ApiResponse, call } from "../support/api";

/** A provider key nobody else uses, so a scan for it finds only what this test wrote. */
export const providerKey = (label = "key") =>
  `sk-test-${label}-${crypto.randomUUID().replaceAll("-", "")}`;

export const setProvider = (
  as: string,
  repoId: string,
  aiType: string,
  body: unknown,
): Promise<ApiResponse> => call("PUT", `/repo/${repoId}/ai/provider/${aiType}`, { as, body });

export async function setProviderOk(
  as: string,
  repoId: string,
  aiType: string,
  body: { apiKey: string; baseUrl?: string },
) {
  const response = await setProvider(as, repoId, aiType, body);
  expect(response.status, response.text).toBe(200);
  return response.body;
}

/** The ai_providers row exactly as D1 stores it, or null. */
export function providerRow(repoId: string, aiType: string): Promise<Record<string, any> | null> {
  return env.DB.prepare("SELECT * FROM ai_providers WHERE repo_id = ? AND ai_type = ?")
    .bind(repoId, aiType)
    .first();
}

/** The stored audit events of one type in one repo, oldest first; polls until `count` are there. */
export async function repoEvents(repoId: string, type: string, count = 1, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { results } = await env.DB.prepare(
      "SELECT * FROM audit_events WHERE repo_id = ? AND type = ? ORDER BY at, id",
    )
      .bind(repoId, type)
      .all<Record<string, any>>();
    if (results.length >= count) return results;
    if (Date.now() > deadline) throw new Error(`no ${type} event in repo ${repoId}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
