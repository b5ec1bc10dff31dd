import { mkdtempSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BrowserPage, browserAvailable, closeBrowser, openPage } from "./support/browser";
import { baseUrl, callApi, newUser, tokenFor } from "./support/http";

/**
 * The console's usage chart in Chromium: a burst of verifications through /verify/ai shows in
 * the key's chart (valid and refused, exact numbers on focus, the same in the hidden table) and
 * in the repo's busiest keys; the page is axe clean (WCAG 2.1 AA). Screenshots go to a
 * temporary directory, never into the repository.
 */

const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
const SHOTS = mkdtempSync(join(tmpdir(), "usage-console-"));

async function violations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => "axe" in window))) await page.addScriptTag({ path: AXE });
  const found = await page.evaluate(
    async () =>
      (
        await (
          window as unknown as {
            axe: {
              run(
                context: Document,
                options: unknown,
              ): Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }>;
            };
          }
        ).axe.run(document, {
          runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
        })
      ).violations,
  );
  return found.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

describe.skipIf(!browserAvailable)("the console's usage chart", () => {
  let browser: BrowserPage;
  let token: string;
  let repoId: string;
  let key: { id: string; secret: string };

  beforeAll(async () => {
    token = await tokenFor(newUser("console-usage"));
    const workspaceId = (await callApi(token, "POST", "/workspace", { name: "Usage team" })).id;
    repoId = (await callApi(token, "POST", "/repo", { name: "charts", workspaceId })).id;
    key = await callApi(token, "POST", `/repo/${repoId}/ai/apikey`, {
      name: "Chatbot",
      aiType: "OPENAI",
    });
    const gateway = await tokenFor(`console-usage-gw-${newUser()}`, { scope: "keys:verify" });
    for (let i = 0; i < 7; i++) {
      expect((await callApi(gateway, "POST", "/verify/ai", { secret: key.secret })).code).toBe(
        "VALID",
      );
    }
    // The key disabled: its next verifications are refused, and counted under it.
    await callApi(token, "PUT", `/repo/${repoId}/ai/apikey/${key.id}`, { status: "INACTIVE" });
    const deadline = Date.now() + 20_000;
    let refused = 0;
    while (refused < 2 && Date.now() < deadline) {
      const answer = await callApi(gateway, "POST", "/verify/ai", { secret: key.secret });
      if (answer.code === "DISABLED") refused += 1;
      else await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(refused).toBe(2);
    browser = await openPage(baseUrl, "usage-console", { bypassCSP: true });
  });

  afterAll(async () => {
    await browser?.close();
    await closeBrowser();
  });

  it("shows the burst in the key's chart, with exact numbers on focus and in a table", async () => {
    const { page } = browser;
    // The counts are written a few seconds after the burst: wait until the API has them all.
    const usagePath = `/repo/${repoId}/ai/apikey/${key.id}/usage`;
    await expect
      .poll(async () => (await callApi(token, "GET", usagePath)).totals, { timeout: 20_000 })
      .toMatchObject({ refused: { DISABLED: 2 } });
    const valid = (await callApi(token, "GET", usagePath)).totals.valid;
    expect(valid).toBeGreaterThanOrEqual(7);

    await page.goto(`${baseUrl}/console#/repo/${repoId}`);
    await page.getByLabel("Access token").fill(token);
    await page.getByLabel("Access token").press("Enter");
    const row = page
      .getByRole("region", { name: "AI keys", exact: true })
      .locator("tbody tr", { has: page.getByRole("rowheader", { name: "Chatbot", exact: true }) });
    await expect.poll(() => row.locator(".usage24h").textContent()).toBe(String(valid));
    await row.getByRole("button", { name: "Usage of Chatbot" }).click();

    const panel = page.getByRole("region", { name: "Usage of “Chatbot”" });
    await expect
      .poll(() => panel.locator(".usage-totals").textContent())
      .toBe(`Last 24 hours: ${valid} valid, 2 refused.`);
    // An AI key's provider tokens, apart from its verifications (none went through the AI gateway).
    expect(await panel.locator(".usage-tokens").textContent()).toBe("Tokens: 0 input, 0 output.");
    // The current hour's bar is the last; focusing it reads out its exact numbers.
    const bar = panel.locator("svg .bar").last();
    await bar.focus();
    await expect
      .poll(() => panel.locator(".usage-readout").textContent())
      .toMatch(new RegExp(`: ${valid} valid, 2 refused \\(DISABLED 2\\)$`));
    expect(await bar.getAttribute("data-valid")).toBe(String(valid));
    expect(await bar.getAttribute("data-refused")).toBe("2");
    // The same numbers in the table for screen readers.
    const cells = await panel.locator("table tbody tr").last().locator("td").allTextContents();
    expect(cells).toEqual([String(valid), "2 refused (DISABLED 2)"]);
    await page.screenshot({ path: join(SHOTS, "24-hours.png"), fullPage: true });

    await panel.getByRole("button", { name: "Last 30 days" }).click();
    await expect
      .poll(() => panel.locator(".usage-totals").textContent())
      .toBe(`Last 30 days: ${valid} valid, 2 refused.`);
    expect(await panel.locator("svg .bar").count()).toBeGreaterThanOrEqual(30);
    await page.screenshot({ path: join(SHOTS, "30-days.png"), fullPage: true });

    // The repo's busiest keys.
    const busiest = page.getByRole("region", { name: "Busiest keys (last 24 hours)" });
    await expect
      .poll(() => busiest.locator("tbody tr").first().locator("th").textContent())
      .toBe("Chatbot");

    expect(await violations(page)).toEqual([]);
    expect(browser.problems()).toEqual([]);
  }, 60_000);
});
