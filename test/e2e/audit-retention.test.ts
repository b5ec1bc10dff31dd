import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, inject, it } from "vitest";
import { baseUrl, newUser, tokenFor } from "./support/http";

const root = fileURLToPath(new URL("../../", import.meta.url));
const wrangler = fileURLToPath(
  new URL("../../node_modules/wrangler/bin/wrangler.js", import.meta.url),
);

/** SQL against the running `npm run dev`'s local D1, the way an operator would run it. */
async function d1(sql: string): Promise<void> {
  await promisify(execFile)(
    process.execPath,
    [
      wrangler,
      "d1",
      "execute",
      "DB",
      "--local",
      "--persist-to",
      inject("statePath"),
      "--command",
      sql,
    ],
    { cwd: root, env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
  );
}

describe("audit retention, under npm run dev", () => {
  it("the cron purges events older than 400 days and keeps the workspace's recent ones", async () => {
    const token = await tokenFor(newUser("retention"));
    const headers = { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
    const workspace = await (
      await fetch(`${baseUrl}/workspace`, {
        method: "POST",
        headers,
        body: JSON.stringify({ name: "Retention" }),
      })
    ).json();
    const ancient = crypto.randomUUID();
    await d1(
      "INSERT INTO audit_events (id, type, at, actor_id, workspace_id, request_id, stored_at) " +
        `VALUES ('${ancient}', 'workspace.member_added', '2020-01-01T00:00:00.000Z', 'someone', '${workspace.id}', 'r-1', '2020-01-01T00:00:00.000Z')`,
    );
    const trail = async (): Promise<{ id: string; type: string }[]> =>
      (await (await fetch(`${baseUrl}/workspace/${workspace.id}/audit`, { headers })).json())
        .events;
    // The workspace.created event arrives through the queue.
    await expect.poll(async () => (await trail()).length, { timeout: 10_000 }).toBe(2);

    const cron = await fetch(`${baseUrl}/cdn-cgi/local/scheduled`);
    expect(cron.status).toBe(200);

    await expect
      .poll(async () => (await trail()).map((event) => event.type), { timeout: 10_000 })
      .toEqual(["workspace.created"]);
  });
});
