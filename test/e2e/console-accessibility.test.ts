import { createRequire } from "node:module";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FlashgateClient } from "../../client/src/index.ts";
import { type BrowserPage, browserAvailable, closeBrowser, openPage } from "./support/browser";
import { baseUrl, newUser, tokenFor } from "./support/http";

/**
 * Every view of the console, checked by axe-core (the engine behind Lighthouse's and most
 * browsers' accessibility audits) against WCAG 2.1 A and AA: labels, names, roles, contrast,
 * landmarks, headings, dialogs. The page's own CSP would refuse the injected checker, so this
 * file's pages bypass it; console.test.ts proves the policy.
 */

const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
const WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** axe's violations on the page as it is now, one line each, for a readable failure. */
async function violations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => "axe" in window))) await page.addScriptTag({ path: AXE });
  const found = await page.evaluate(
    async (tags) =>
      (
        await (
          window as unknown as {
            axe: { run(context: Document, options: unknown): Promise<{ violations: Violation[] }> };
          }
        ).axe.run(document, { runOnly: { type: "tag", values: tags } })
      ).violations,
    WCAG,
  );
  return found.map(
    (v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`,
  );
}

describe.skipIf(!browserAvailable)("the console's accessibility (axe-core, WCAG 2.1 AA)", () => {
  const owner = newUser("a11y-owner");
  let opened: BrowserPage;
  let page: Page;
  let workspaceId = "";
  let repoId = "";

  beforeAll(async () => {
    const api = new FlashgateClient({ accessToken: await tokenFor(owner), baseUrl });
    workspaceId = (await api.workspaces.create({ name: "Accessible team" })).id;
    repoId = (await api.repos.create({ name: "photos", workspaceId })).id;
    await api.apiKeys.create(repoId, { name: "Uploader", access: "WRITE" });
    await api.aiApiKeys.create(repoId, { name: "Assistant", aiType: "OPENAI" });
    await api.workspaces.members.add(workspaceId, { userId: newUser("a11y-reader"), role: "READ" });
    opened = await openPage(baseUrl, "console-a11y", { bypassCSP: true });
    page = opened.page;
  });

  afterAll(async () => {
    await opened?.close();
    await closeBrowser();
  });

  const heading = () => page.getByRole("heading", { level: 1 });

  it("the sign-in page, and a refused sign-in", async () => {
    await page.goto(`${baseUrl}/console`);
    await expect.poll(() => heading().textContent()).toBe("Sign in");
    expect(await violations(page)).toEqual([]);
    await page.getByLabel("Access token").fill("not-a-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.getByRole("alert").filter({ hasText: /\S/ }).count()).toBe(1);
    expect(await violations(page)).toEqual([]);
  }, 60_000);

  it("the workspaces, a workspace with its members and audit trail, and a repo with its keys", async () => {
    await page.getByLabel("Access token").fill(await tokenFor(owner));
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => heading().textContent()).toBe("Workspaces");
    await expect.poll(() => page.getByRole("link", { name: "Accessible team" }).count()).toBe(1);
    expect(await violations(page)).toEqual([]);

    await page.goto(`${baseUrl}/console#/workspace/${workspaceId}`);
    await expect.poll(() => heading().textContent()).toBe("Accessible team");
    await expect.poll(() => page.getByRole("link", { name: "photos" }).count()).toBe(1);
    await expect.poll(() => page.locator(".audit tbody tr").count()).toBeGreaterThan(0);
    expect(await violations(page)).toEqual([]);

    await page.goto(`${baseUrl}/console#/repo/${repoId}`);
    await expect.poll(() => heading().textContent()).toBe("photos");
    await expect.poll(() => page.getByRole("rowheader", { name: "Assistant" }).count()).toBe(1);
    expect(await violations(page)).toEqual([]);
  }, 60_000);

  it("the dialogs: the secret shown once, rename, and a revoke confirmation", async () => {
    const storage = page.getByRole("region", { name: "Storage keys", exact: true });
    await storage.getByLabel("Name", { exact: true }).fill("Reader bot");
    await storage.getByRole("button", { name: "Create storage key" }).click();
    await expect.poll(() => page.getByRole("dialog").count()).toBe(1);
    expect(await violations(page)).toEqual([]);
    await opened.screenshot("secret-dialog");
    await page.getByRole("dialog").getByRole("button", { name: "Done" }).click();

    const row = storage.locator("tbody tr", {
      has: page.getByRole("rowheader", { name: "Uploader", exact: true }),
    });
    await row.getByRole("button", { name: "Rename" }).click();
    await expect.poll(() => page.getByRole("dialog").count()).toBe(1);
    expect(await violations(page)).toEqual([]);
    await page.keyboard.press("Escape");
    await expect.poll(() => page.getByRole("dialog").count()).toBe(0);

    await row.getByRole("button", { name: "Revoke" }).click();
    await expect.poll(() => page.getByRole("dialog").count()).toBe(1);
    expect(await violations(page)).toEqual([]);
    await page.keyboard.press("Escape");
    expect(opened.problems()).toEqual([]);
  }, 60_000);
});
