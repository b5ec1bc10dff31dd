import { mkdtempSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FlashgateClient } from "../../client/src/index.ts";
import { type BrowserPage, browserAvailable, closeBrowser, openPage } from "./support/browser";
import { baseUrl, newUser, tokenFor } from "./support/http";

/**
 * The console's "AI providers" section and an AI key's model allow-list, in a real browser: set,
 * replace and remove a provider key (never shown again, only ••••last4), see a refused base URL
 * and a READ member's refusal announced, edit the models an AI key may use; each view checked by
 * axe-core (WCAG 2.1 AA). Screenshots go to a temporary directory only.
 */

const STEP_MS = 60_000;
const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
const WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
const SHOTS = mkdtempSync(join(tmpdir(), "flashgate-ai-providers-console-"));

/** A provider key unique to this run, so finding it anywhere means this test's key leaked. */
const providerKey = (label: string) =>
  `sk-console-${label}-${crypto.randomUUID().replaceAll("-", "")}`;

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

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

describe.skipIf(!browserAvailable)("the console's AI providers and model allow-lists", () => {
  const owner = newUser("providers-owner");
  const reader = newUser("providers-reader");
  const keys: string[] = [];
  let ownerApi: FlashgateClient;
  let opened: BrowserPage;
  let page: Page;
  let repoId = "";

  beforeAll(async () => {
    ownerApi = new FlashgateClient({ accessToken: await tokenFor(owner), baseUrl });
    const workspaceId = (await ownerApi.workspaces.create({ name: "AI team" })).id;
    repoId = (await ownerApi.repos.create({ name: "assistant", workspaceId })).id;
    await ownerApi.workspaces.members.add(workspaceId, { userId: reader, role: "READ" });
    // The page's own CSP would refuse axe's injected script; console.test.ts proves the policy.
    opened = await openPage(baseUrl, "ai-providers-console", { bypassCSP: true });
    page = opened.page;
  });

  afterAll(async () => {
    await opened?.close();
    await closeBrowser();
  });

  const section = (name: string) => page.getByRole("region", { name, exact: true });
  const providers = () => section("AI providers");
  const providerRow = (type: string) =>
    providers().locator("tbody tr", { has: page.getByRole("rowheader", { name: type }) });
  const dialog = () => page.getByRole("dialog");
  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`) });

  async function signIn(userId: string) {
    await page.goto(`${baseUrl}/console`);
    await page.getByLabel("Access token").fill(await tokenFor(userId));
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => page.getByRole("button", { name: "Sign out" }).count()).toBe(1);
    await page.goto(`${baseUrl}/console#/repo/${repoId}`);
    await expect
      .poll(() => page.getByRole("heading", { level: 1 }).textContent())
      .toBe("assistant");
  }

  /** No provider key typed in this test is anywhere in the page, its fields or its storage. */
  async function expectNoKeyInPage() {
    const traces = await page.evaluate(() => ({
      html: document.documentElement.outerHTML,
      fields: [...document.querySelectorAll("input, textarea")]
        .map((f) => (f as HTMLInputElement).value)
        .join("\n"),
      href: location.href,
      local: JSON.stringify({ ...localStorage }),
      session: JSON.stringify({ ...sessionStorage }),
    }));
    for (const key of keys) {
      for (const [where, text] of Object.entries(traces)) {
        expect(text.includes(key), `provider key found in ${where}`).toBe(false);
      }
    }
  }

  it(
    "1. sets a provider key: the list shows it masked with its last 4 characters and when it was set",
    async () => {
      await signIn(owner);
      await expect
        .poll(() => providers().textContent())
        .toContain("No provider keys yet: AI keys of this repo cannot call any provider.");
      expect(await violations(page)).toEqual([]);

      const key = providerKey("openai");
      keys.push(key);
      await providers().getByLabel("Provider", { exact: true }).selectOption("OPENAI");
      const keyField = providers().getByLabel("API key", { exact: true });
      expect(await keyField.getAttribute("type")).toBe("password");
      expect(await keyField.getAttribute("autocomplete")).toBe("off");
      await keyField.fill(key);
      await providers().getByRole("button", { name: "Set provider key" }).click();
      await expect
        .poll(() => providers().getByRole("status").textContent())
        .toBe(`The OPENAI key ••••${key.slice(-4)} was set.`);
      await expect.poll(() => providerRow("OPENAI").count()).toBe(1);
      const row = providerRow("OPENAI");
      expect(await row.locator("code.masked-key").textContent()).toBe(
        `••••ending in ${key.slice(-4)}`,
      );
      expect(await row.textContent()).toContain("https://api.openai.com/v1");
      expect(await row.textContent()).toContain(`by ${owner}`);
      expect(await row.locator("time").getAttribute("datetime")).toMatch(/^\d{4}-\d\d-\d\dT/);
      await expectNoKeyInPage();
      expect(await violations(page)).toEqual([]);
      await shot("1-set");
    },
    STEP_MS,
  );

  it(
    "2. announces a refused base URL next to the form, with the API's issue, and keeps nothing",
    async () => {
      const key = providerKey("other");
      keys.push(key);
      await providers().getByLabel("Provider", { exact: true }).selectOption("OTHER");
      expect(await providers().textContent()).toContain("required for OTHER");
      await providers().getByLabel("API key", { exact: true }).fill(key);
      await providers().getByLabel("Base URL (optional)").fill("https://10.0.0.8/v1");
      await providers().getByRole("button", { name: "Set provider key" }).click();
      const alert = providers().getByRole("alert").filter({ hasText: /\S/ });
      await expect.poll(() => alert.count()).toBe(1);
      expect(await alert.textContent()).toContain(
        "baseUrl: must not be a private, loopback, link-local or reserved address",
      );
      expect(await alert.textContent()).toContain("VALIDATION_FAILED");
      expect((await ownerApi.aiProviders.list(repoId)).providers.map((p) => p.aiType)).toEqual([
        "OPENAI",
      ]);
      expect(await violations(page)).toEqual([]);
      await shot("2-refused");
      // Cleared by hand: the page keeps a refused key only for the user to correct it.
      await providers().getByLabel("API key", { exact: true }).fill("");
      await providers().getByLabel("Base URL (optional)").fill("");
      await expectNoKeyInPage();
    },
    STEP_MS,
  );

  it(
    "3. replaces a key in a dialog that starts on its key field",
    async () => {
      const key = providerKey("replaced");
      keys.push(key);
      const replace = providerRow("OPENAI").getByRole("button", { name: "Replace the OPENAI key" });
      await replace.click();
      await expect
        .poll(() => dialog().getByRole("heading").textContent())
        .toBe("Replace the OPENAI key");
      // Focus starts on the dialog's first field.
      expect(await page.evaluate(() => (document.activeElement as HTMLInputElement)?.name)).toBe(
        "apiKey",
      );
      expect(await violations(page)).toEqual([]);
      await dialog().getByLabel("API key", { exact: true }).fill(key);
      await dialog().getByRole("button", { name: "Replace key" }).click();
      await expect.poll(() => page.locator("dialog").count()).toBe(0);
      await expect
        .poll(() => providerRow("OPENAI").locator("code.masked-key").textContent())
        .toBe(`••••ending in ${key.slice(-4)}`);
      expect(await providers().getByRole("status").textContent()).toBe(
        `The OPENAI key is now ••••${key.slice(-4)}.`,
      );
      await expectNoKeyInPage();
      await shot("3-replaced");
    },
    STEP_MS,
  );

  it(
    "4. creates an AI key limited to two models, then allows any model again",
    async () => {
      const ai = section("AI keys");
      await ai.getByLabel("Name", { exact: true }).fill("Support bot");
      await ai.getByLabel("Allowed models").fill("gpt-4o-mini\n gpt-4o \n\n");
      await ai.getByRole("button", { name: "Create AI key" }).click();
      await expect.poll(() => dialog().getByRole("heading").textContent()).toBe("AI key created");
      await dialog().getByRole("button", { name: "Done" }).click();
      await expect.poll(() => page.locator("dialog").count()).toBe(0);

      const row = ai.locator("tbody tr", {
        has: page.getByRole("rowheader", { name: "Support bot", exact: true }),
      });
      await expect
        .poll(() => row.locator(".models").textContent())
        .toBe("Models: gpt-4o-mini, gpt-4o");
      const [listed] = (await ownerApi.aiApiKeys.list(repoId)).apiKeys;
      expect(listed?.models).toEqual(["gpt-4o-mini", "gpt-4o"]);
      expect(await violations(page)).toEqual([]);

      await row.getByRole("button", { name: "Change the models Support bot may use" }).click();
      await expect
        .poll(() => dialog().getByRole("heading").textContent())
        .toBe("Models “Support bot” may use");
      const field = dialog().getByLabel("Allowed models");
      expect(await field.inputValue()).toBe("gpt-4o-mini\ngpt-4o");
      expect(await violations(page)).toEqual([]);
      await shot("4-models-dialog");
      await field.fill("");
      await dialog().getByRole("button", { name: "Save models" }).click();
      await expect.poll(() => row.locator(".models").textContent()).toBe("Any model");
      expect((await ownerApi.aiApiKeys.list(repoId)).apiKeys[0]?.models).toBeNull();
      expect(await ai.getByRole("status").textContent()).toBe("“Support bot” may use any model.");
    },
    STEP_MS,
  );

  it(
    "5. shows a READ member what is configured, and the API's refusal when they try to change it",
    async () => {
      await signIn(reader);
      await expect.poll(() => providerRow("OPENAI").count()).toBe(1);
      const key = providerKey("reader");
      keys.push(key);
      await providers().getByLabel("API key", { exact: true }).fill(key);
      await providers().getByRole("button", { name: "Set provider key" }).click();
      const alert = providers().getByRole("alert").filter({ hasText: /\S/ });
      await expect.poll(() => alert.count()).toBe(1);
      expect(await alert.textContent()).toContain("Insufficient permissions");
      expect(opened.refusals()).toContainEqual(`403 PUT /repo/${repoId}/ai/provider/OPENAI`);
      expect(await violations(page)).toEqual([]);
      await shot("5-reader-refused");
    },
    STEP_MS,
  );

  it(
    "6. removes a key after a confirmation that starts on Cancel",
    async () => {
      await signIn(owner);
      await expect.poll(() => providerRow("OPENAI").count()).toBe(1);
      await providerRow("OPENAI").getByRole("button", { name: "Remove the OPENAI key" }).click();
      await expect
        .poll(() => dialog().getByRole("heading").textContent())
        .toBe("Remove the OPENAI key");
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Cancel");
      await dialog().getByRole("button", { name: "Remove key" }).click();
      await expect
        .poll(() => providers().textContent())
        .toContain("No provider keys yet: AI keys of this repo cannot call any provider.");
      expect((await ownerApi.aiProviders.list(repoId)).providers).toEqual([]);
      await expectNoKeyInPage();
      // The page itself made no request outside the Worker and logged no error.
      expect(opened.problems()).toEqual([]);
      await shot("6-removed");
    },
    STEP_MS,
  );
});
