import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import type { Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import committedDocument from "../../client/openapi.json";
import { FlashgateClient, FlashgateError } from "../../client/src/index.ts";
import { type BrowserPage, browserAvailable, closeBrowser, openPage } from "./support/browser";
import { baseUrl, curl, newUser, tokenFor } from "./support/http";
import { capturingS3Client } from "./support/s3-signing";

/**
 * The console at /console, driven in a real browser as its users would: sign in with a pasted
 * token, browse workspaces → repos → keys, create keys (secret shown once), change and revoke
 * them, read the audit trail, manage members, and see the API's refusals as the API gave them.
 * The steps run in order on one signed-in page; each saves a screenshot under
 * test/e2e/.screenshots/console/.
 */

const STEP_MS = 60_000;
const nextYear = new Date().getFullYear() + 1;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

describe("GET /console over HTTP", () => {
  it("is the console's page, with a policy that allows this origin only and no inline code", async () => {
    const page = await curl("/console", []);
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    expect(page.text).toContain('<script type="module" src="/console/console.js"></script>');
    expect(page.text).not.toMatch(/(src|href)="(https?:)?\/\//);
    const csp = (page.headers["content-security-policy"] ?? "").split(/;\s*/);
    expect(csp).toEqual(
      expect.arrayContaining([
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
      ]),
    );
    expect(page.headers["x-content-type-options"]).toBe("nosniff");
    expect(page.headers["referrer-policy"]).toBe("no-referrer");

    const script = await curl("/console/console.js", []);
    expect(script.status).toBe(200);
    expect(script.headers["content-type"]).toMatch(/javascript/);
  });

  it("redirects /console/ to /console, and leaves the API's own paths to the Worker", async () => {
    const slash = await curl("/console/", []);
    expect(slash.status).toBe(307);
    expect(slash.headers.location).toBe("/console");
    const missing = await curl("/console/nothing-here", []);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ success: false, code: "NOT_FOUND" });
  });
});

describe.skipIf(!browserAvailable)("the console's Content-Security-Policy, in a browser", () => {
  afterAll(closeBrowser);

  it("refuses an inline script and an inline style, and a request to another origin", async () => {
    const opened = await openPage(baseUrl, "console-csp");
    try {
      const { page } = opened;
      await page.goto(`${baseUrl}/console`);
      await page.getByLabel("Access token").waitFor();
      // What an injected script would try: run inline code, restyle the page, send data away.
      await page.evaluate(() => {
        const script = document.createElement("script");
        script.textContent = "window.inlineRan = true";
        document.head.append(script);
        const style = document.createElement("style");
        style.textContent = "body { display: none }";
        document.head.append(style);
      });
      const outcome = await page.evaluate(async () => ({
        inlineRan: (window as { inlineRan?: boolean }).inlineRan ?? false,
        display: getComputedStyle(document.body).display,
        fetched: await fetch("https://example.com/").then(
          () => "reached",
          () => "refused",
        ),
      }));
      expect(outcome).toEqual({ inlineRan: false, display: "block", fetched: "refused" });
      const problems = opened.problems().join("\n");
      expect(problems).toMatch(/inline script violates .*script-src 'self'/);
      expect(problems).toMatch(/inline style violates .*style-src 'self'/);
      expect(problems).toMatch(
        /Connecting to 'https:\/\/example\.com\/' violates .*connect-src 'self'/,
      );
    } finally {
      await opened.close();
    }
  }, 60_000);

  it("counts a page file the Worker does not have as a problem, and an API refusal as a refusal", async () => {
    const opened = await openPage(baseUrl, "console-harness");
    try {
      const { page } = opened;
      await page.goto(`${baseUrl}/console`);
      await page.getByLabel("Access token").fill("not-a-token");
      await page.getByRole("button", { name: "Sign in" }).click();
      await expect.poll(() => opened.refusals()).toEqual(["401 GET /workspace"]);
      await page.evaluate(() => {
        const script = document.createElement("script");
        script.src = "/console/missing.js";
        document.head.append(script);
      });
      await expect
        .poll(() => opened.problems())
        .toContainEqual(expect.stringMatching(/^console error: Failed to load resource: .* 404/));
    } finally {
      await opened.close();
    }
  }, 60_000);
});

describe.skipIf(!browserAvailable)("the console, in a browser", () => {
  const owner = newUser("console-owner");
  const reader = newUser("console-reader");
  let ownerApi: FlashgateClient;
  let gateway: FlashgateClient;
  let browser: BrowserPage;
  let page: Page;
  /** The reader's own page, opened in step 8. */
  let readerBrowser: BrowserPage | undefined;
  let workspaceId = "";
  let repoId = "";
  /** Every secret a dialog showed: none may stay anywhere in the page once it closed. */
  const secrets: string[] = [];

  beforeAll(async () => {
    ownerApi = new FlashgateClient({ accessToken: await tokenFor(owner), baseUrl });
    gateway = new FlashgateClient({
      accessToken: await tokenFor("console-test-gateway", { scope: "keys:verify" }),
      baseUrl,
    });
    browser = await openPage(baseUrl, "console");
    page = browser.page;
  });

  afterAll(async () => {
    await readerBrowser?.close();
    await browser?.close();
    await closeBrowser();
  });

  const section = (name: string) => page.getByRole("region", { name, exact: true });
  const keyRow = (sectionName: string, name: string) =>
    section(sectionName).locator("tbody tr", {
      has: page.getByRole("rowheader", { name, exact: true }),
    });
  const dialog = () => page.getByRole("dialog");

  /** The secret dialog's contents; closes it with Done and checks the secret left no trace. */
  async function readSecretDialog(title: string) {
    await expect.poll(() => dialog().getByRole("heading").textContent()).toBe(title);
    const secret = (await dialog().locator("code.secret").textContent()) ?? "";
    const key = (await dialog().locator("code.key-id").textContent()) ?? "";
    expect(secret.length).toBeGreaterThan(20);
    secrets.push(secret);
    await expect
      .poll(() => dialog().textContent())
      .toContain(
        "This is the only time this secret is shown. Copy it now and store it somewhere safe; it cannot be shown again.",
      );
    // Focus moved into the dialog, on its primary button.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Copy secret");
    await dialog().getByRole("button", { name: "Copy secret" }).click();
    await expect
      .poll(() => dialog().getByRole("status").textContent())
      .toMatch(/Copied to the clipboard|press Ctrl\+C/);
    return { secret, key };
  }

  async function closeSecretDialog(step: string) {
    await browser.screenshot(step);
    await dialog().getByRole("button", { name: "Done" }).click();
    // Scrubbed as it closes (checked at once), then gone from the page.
    await expectNoSecretInPage(page);
    await expect.poll(() => page.locator("dialog").count()).toBe(0);
  }

  async function expectNoSecretInPage(target: Page) {
    const traces = await target.evaluate(() => ({
      html: document.documentElement.outerHTML,
      href: location.href,
      local: JSON.stringify({ ...localStorage }),
      session: JSON.stringify({ ...sessionStorage }),
      history: JSON.stringify(history.state ?? null),
      cookies: document.cookie,
      selection: String(window.getSelection()),
    }));
    for (const secret of secrets) {
      for (const [where, text] of Object.entries(traces)) {
        const at = text.indexOf(secret);
        expect(at, `secret found in ${where}: ${text.slice(Math.max(0, at - 300), at + 100)}`).toBe(
          -1,
        );
      }
    }
  }

  /** The statuses of the API's refusals the page received, in order. */
  const refusedStatuses = (opened: BrowserPage) =>
    opened.refusals().map((refusal) => Number(refusal.split(" ")[0]));

  /** The text of the alert region inside `scope`, once it has one. */
  async function alertText(scope: Locator): Promise<string> {
    const alert = scope.getByRole("alert").filter({ hasText: /\S/ });
    await expect.poll(() => alert.count()).toBeGreaterThan(0);
    return (await alert.first().textContent()) ?? "";
  }

  /** What the API answers the same refused call with, straight through the client. */
  async function refusal(call: Promise<unknown>): Promise<FlashgateError> {
    const error = await call.then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(FlashgateError);
    return error as FlashgateError;
  }

  it(
    "1. signs in with a pasted access token, kept out of the URL and storage",
    async () => {
      await page.goto(`${baseUrl}/console`);
      await expect
        .poll(() => page.getByRole("heading", { level: 1 }).textContent())
        .toBe("Sign in");
      const main = page.getByRole("main");
      // --silent: without it npm prints its own lines around the token.
      expect(await main.textContent()).toContain("run npm run --silent token -- <userId> with");
      expect(await main.textContent()).toContain("Reloading the page signs you out");
      const field = page.getByLabel("Access token");
      expect(await field.getAttribute("type")).toBe("password");
      expect(await field.getAttribute("autocomplete")).toBe("off");
      await browser.screenshot("sign-in");

      // A refused token: the API's message, code and request id, next to the form.
      await field.fill("not-a-token");
      await page.getByRole("button", { name: "Sign in" }).click();
      const refused = await alertText(main);
      expect(refused).toContain("UNAUTHORIZED");
      expect(refused).toMatch(/request id \S+/);
      await browser.screenshot("sign-in-refused");

      const token = await tokenFor(owner);
      await field.fill(token);
      await field.press("Enter");
      await expect
        .poll(() => page.getByRole("heading", { level: 1 }).textContent())
        .toBe("Workspaces");
      expect(await page.getByRole("button", { name: "Sign out" }).isVisible()).toBe(true);
      // The heading names the page; no breadcrumb of itself alone, no section heading repeating it.
      const pageText = (await page.locator("body").textContent()) ?? "";
      expect(pageText.match(/Workspaces/g)).toEqual(["Workspaces"]);
      expect(await page.getByRole("navigation", { name: "Breadcrumb" }).textContent()).toBe("");
      expect(await page.getByRole("banner").textContent()).toContain(owner);
      const stored = await page.evaluate(() => ({
        href: location.href,
        local: JSON.stringify({ ...localStorage }),
        session: JSON.stringify({ ...sessionStorage }),
        cookies: document.cookie,
        history: JSON.stringify(history.state ?? null),
        html: document.documentElement.outerHTML,
      }));
      for (const [where, text] of Object.entries(stored)) {
        expect(text.includes(token), `token found in ${where}`).toBe(false);
      }
      await browser.screenshot("signed-in");
    },
    STEP_MS,
  );

  it(
    "2. creates a workspace, opens it, creates a repo and opens it",
    async () => {
      await page.getByLabel("Workspace name").fill("Platform team");
      await page.getByRole("button", { name: "Create workspace" }).click();
      await page.getByRole("link", { name: "Platform team" }).click();
      await expect.poll(() => page.url()).toMatch(new RegExp(`#/workspace/${UUID.source}$`));
      workspaceId = UUID.exec(page.url())?.[0] ?? "";
      await expect
        .poll(() => page.getByRole("heading", { level: 1 }).textContent())
        .toBe("Platform team");
      const crumbs = page.getByRole("navigation", { name: "Breadcrumb" });
      expect(await crumbs.getByRole("link", { name: "Workspaces" }).getAttribute("href")).toBe(
        "#/",
      );
      await expect.poll(() => page.getByRole("main").textContent()).toContain("Your role: ADMIN");
      await browser.screenshot("workspace");

      await page.getByLabel("Repo name").fill("assets");
      await page.getByRole("button", { name: "Create repo" }).click();
      await page.getByRole("link", { name: "assets", exact: true }).click();
      await expect.poll(() => page.url()).toMatch(new RegExp(`#/repo/${UUID.source}$`));
      repoId = UUID.exec(page.url())?.[0] ?? "";
      await expect.poll(() => page.getByRole("heading", { level: 1 }).textContent()).toBe("assets");
      await expect
        .poll(() => crumbs.getByRole("link", { name: "Platform team" }).getAttribute("href"))
        .toBe(`#/workspace/${workspaceId}`);
      expect(await section("Storage keys").textContent()).toContain("No storage keys yet.");
      await browser.screenshot("repo");

      // Back and forward walk the hash routes.
      await page.goBack();
      await expect
        .poll(() => page.getByRole("heading", { level: 1 }).textContent())
        .toBe("Platform team");
      await page.goForward();
      await expect.poll(() => page.getByRole("heading", { level: 1 }).textContent()).toBe("assets");
    },
    STEP_MS,
  );

  it(
    "3. creates a storage key and an AI key; each secret is shown once, works, and leaves no trace",
    async () => {
      const storage = section("Storage keys");
      await storage.getByLabel("Name", { exact: true }).fill("CI Bot");
      await storage.getByLabel("Access", { exact: true }).selectOption("WRITE");
      await storage.getByRole("button", { name: "Create storage key" }).click();
      const shown = await readSecretDialog("Storage key created");
      expect(shown.key).toMatch(/^FBAK[A-Z0-9]+$/);
      expect(await dialog().locator("p").first().textContent()).toBe(
        "The storage key “CI Bot” was created with this access key and secret.",
      );

      // The secret is the key's real one: a request it signs verifies as the key, with WRITE.
      const signed = await capturingS3Client({
        accessKeyId: shown.key,
        secretAccessKey: shown.secret,
      }).signed(new ListObjectsV2Command({ Bucket: repoId }));
      expect(await gateway.verify.s3({ ...signed, requiredAccess: "WRITE" })).toMatchObject({
        valid: true,
        key: shown.key,
        repoId,
        accessType: "WRITE",
      });
      await closeSecretDialog("storage-key-secret");
      // Focus went back to the button that opened the dialog.
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe(
        "Create storage key",
      );

      const row = keyRow("Storage keys", "CI Bot");
      await expect.poll(() => row.textContent()).toContain(shown.key);
      const cells = await row.locator("td, th").allTextContents();
      expect(cells[0]).toBe("CI Bot");
      expect(await row.getByLabel("Access of CI Bot").inputValue()).toBe("WRITE");
      expect(cells).toContain("Never"); // last used
      expect(cells).toContain("ACTIVE");
      // Name, Access, Key, Created, Last used, Status, then Expires: none, and its Change button.
      expect(cells[6]).toBe("—Change");
      expect(await row.locator("time").first().getAttribute("datetime")).toMatch(/^\d{4}-.*Z$/);

      const ai = section("AI keys");
      await ai.getByLabel("Name", { exact: true }).fill("Claude gateway");
      await ai.getByLabel("AI type", { exact: true }).selectOption("ANTHROPIC");
      // An expiry in the past: the API's validation issues, listed by field.
      await ai.getByLabel("Expires (optional)").fill("2001-06-15T12:00");
      await ai.getByRole("button", { name: "Create AI key" }).click();
      const invalid = await alertText(ai);
      expect(invalid).toContain("VALIDATION_FAILED");
      expect(await ai.getByRole("alert").getByRole("listitem").allTextContents()).toEqual([
        "expiresAt: must be in the future",
      ]);
      await browser.screenshot("validation-issues");
      await ai.getByLabel("Expires (optional)").fill(`${nextYear}-06-15T12:00`);
      await ai.getByRole("button", { name: "Create AI key" }).click();
      const aiShown = await readSecretDialog("AI key created");
      expect(await dialog().locator("p").first().textContent()).toBe(
        "The AI key “Claude gateway” was created with this key and secret.",
      );
      expect(aiShown.key).toMatch(/^FB_AI_/);
      expect(aiShown.secret).toMatch(/^fbai_sk_/);
      expect(await gateway.verify.ai({ secret: aiShown.secret })).toMatchObject({
        valid: true,
        key: aiShown.key,
        repoId,
        aiType: "ANTHROPIC",
      });
      await closeSecretDialog("ai-key-secret");
      const aiRow = keyRow("AI keys", "Claude gateway");
      await expect.poll(() => aiRow.textContent()).toContain(aiShown.key);
      expect(await aiRow.locator("time").nth(1).getAttribute("datetime")).toMatch(
        new RegExp(`^${nextYear}-06-15T`),
      );
      expect(await aiRow.textContent()).toContain("ANTHROPIC");
      // At 1280 px each table fits without scrolling sideways, and a date (created, expires) takes
      // at most two lines, breaking only between its day and its time; wrapped anywhere, it took three.
      for (const name of ["Storage keys", "AI keys"]) {
        const layout = await section(name)
          .locator(".table-scroll")
          .evaluate((scroll) => ({
            overflow: scroll.scrollWidth - scroll.clientWidth,
            dates: [...scroll.querySelectorAll("tbody time")].map((time) => {
              // The lines a box's text takes: the distinct tops of its boxes with any width.
              const lines = (element: Element) =>
                new Set(
                  [...element.getClientRects()]
                    .filter((rect) => rect.width > 0)
                    .map((rect) => Math.round(rect.top)),
                ).size;
              return { lines: lines(time), parts: [...time.children].map(lines) };
            }),
          }));
        expect(layout.overflow, name).toBeLessThanOrEqual(0);
        expect(layout.dates.length, name).toBeGreaterThan(0);
        for (const date of layout.dates) {
          expect(date.lines, name).toBeLessThanOrEqual(2);
          expect(date.parts, name).toEqual([1, 1]);
        }
      }
      await browser.screenshot("keys-listed");
    },
    STEP_MS,
  );

  it(
    "4. renames a key through its dialog",
    async () => {
      await keyRow("Storage keys", "CI Bot").getByRole("button", { name: "Rename" }).click();
      const name = dialog().getByLabel("Name", { exact: true });
      expect(await name.inputValue()).toBe("CI Bot");
      await name.fill("CI Bot (deploys)");
      await browser.screenshot("rename-dialog");
      await dialog().getByRole("button", { name: "Rename" }).click();
      await expect.poll(() => dialog().count()).toBe(0);
      await expect.poll(() => keyRow("Storage keys", "CI Bot (deploys)").count()).toBe(1);
      expect(await keyRow("Storage keys", "CI Bot").count()).toBe(0);
      const { keys } = await ownerApi.apiKeys.list(repoId);
      expect(keys.map((key) => key.name)).toEqual(["CI Bot (deploys)"]);
      await browser.screenshot("renamed");
    },
    STEP_MS,
  );

  it(
    "5. changes a key's access, disables and enables it, and rolls its secret",
    async () => {
      const row = () => keyRow("Storage keys", "CI Bot (deploys)");
      await row().getByLabel("Access of CI Bot (deploys)").selectOption("READ");
      await row().getByRole("button", { name: "Save" }).click();
      await expect
        .poll(async () => (await ownerApi.apiKeys.list(repoId)).keys[0]?.accessType)
        .toBe("READ");
      await expect
        .poll(() => section("Storage keys").getByRole("status").textContent())
        .toContain("is now READ");
      expect(await row().getByLabel("Access of CI Bot (deploys)").inputValue()).toBe("READ");

      await row().getByRole("button", { name: "Disable" }).click();
      await expect.poll(() => row().locator(".badge").textContent()).toBe("INACTIVE");
      // Verifiers may answer from their cache for VERIFY_CACHE_TTL_SECONDS (10 s by default).
      expect(await section("Storage keys").getByRole("status").textContent()).toBe(
        "“CI Bot (deploys)” is disabled: anything using it is refused everywhere within about 10 seconds.",
      );
      expect(await row().getByRole("button", { name: "Enable" }).count()).toBe(1);
      expect((await ownerApi.apiKeys.list(repoId)).keys[0]?.status).toBe("INACTIVE");
      await browser.screenshot("disabled");
      await row().getByRole("button", { name: "Enable" }).click();
      await expect.poll(() => row().locator(".badge").textContent()).toBe("ACTIVE");

      // Roll: the grace dialog, then the same secret dialog with the new secret.
      await row().getByRole("button", { name: "Roll" }).click();
      const grace = dialog().getByLabel("Grace period for the previous secret (seconds)");
      expect(await grace.inputValue()).toBe("0");
      await grace.fill("3600");
      await dialog().getByRole("button", { name: "Roll secret" }).click();
      const rolled = await readSecretDialog("New secret");
      expect(secrets.slice(0, -1)).not.toContain(rolled.secret);
      expect(await dialog().locator("p").first().textContent()).toBe(
        "The storage key “CI Bot (deploys)” has a new secret.",
      );
      expect(await dialog().textContent()).toContain("The previous secret keeps working until");
      await closeSecretDialog("rolled-secret");
      await expect.poll(() => row().textContent()).toContain("previous secret until");
    },
    STEP_MS,
  );

  it(
    "5b. sets, refuses and clears a key's expiry through its dialog",
    async () => {
      const row = () => keyRow("Storage keys", "CI Bot (deploys)");
      const change = () =>
        row().getByRole("button", { name: "Change the expiry of CI Bot (deploys)" });
      const expires = () => dialog().getByLabel("Expires", { exact: true });
      const storedExpiry = async () => (await ownerApi.apiKeys.list(repoId)).keys[0]?.expiresAt;

      // A past instant: the API's refusal stays in the dialog, and nothing changes.
      await change().click();
      expect(await expires().inputValue()).toBe("");
      await expires().fill("2020-01-01T08:00");
      await dialog().getByRole("button", { name: "Save expiry" }).click();
      const refused = await alertText(dialog());
      expect(refused).toMatch(/expiresAt/);
      expect(refused).toMatch(/request id [0-9a-f-]{36}/);
      expect(await storedExpiry()).toBeNull();
      await browser.screenshot("expiry-refused");

      // A future one, in the browser's time zone, is what the API stores.
      const local = `${nextYear}-03-01T10:30`;
      await expires().fill(local);
      await dialog().getByRole("button", { name: "Save expiry" }).click();
      await expect.poll(() => dialog().count()).toBe(0);
      const expected = await page.evaluate((value) => new Date(value).toISOString(), local);
      await expect.poll(storedExpiry).toBe(expected);
      await expect.poll(() => row().locator("time").last().getAttribute("datetime")).toBe(expected);
      await browser.screenshot("expiry-set");

      // Opened again it shows that time; emptied, the key never expires.
      await change().click();
      expect(await expires().inputValue()).toBe(local);
      await expires().fill("");
      await dialog().getByRole("button", { name: "Save expiry" }).click();
      await expect.poll(() => dialog().count()).toBe(0);
      await expect.poll(storedExpiry).toBeNull();
      await expect
        .poll(() => section("Storage keys").getByRole("status").textContent())
        .toContain("never expires");
    },
    STEP_MS,
  );

  it(
    "6. revokes a key after a confirmation naming it",
    async () => {
      await keyRow("Storage keys", "CI Bot (deploys)")
        .getByRole("button", { name: "Revoke" })
        .click();
      // What is true of a revoked key: verifiers may answer from their cache for
      // VERIFY_CACHE_TTL_SECONDS (10 s by default), so not "at once".
      expect(await dialog().locator("p").first().textContent()).toMatch(
        /^Revoke the storage key “CI Bot \(deploys\)” \(FBAK\w+\)\? Anything using it is refused everywhere within about 10 seconds\. This cannot be undone\.$/,
      );
      await browser.screenshot("revoke-confirmation");
      await dialog().getByRole("button", { name: "Revoke key" }).click();
      await expect.poll(() => keyRow("Storage keys", "CI Bot (deploys)").count()).toBe(0);
      expect(await section("Storage keys").textContent()).toContain("No storage keys yet.");
      expect((await ownerApi.apiKeys.list(repoId)).keys).toEqual([]);
      await browser.screenshot("revoked");
    },
    STEP_MS,
  );

  it(
    "7. shows the audit trail newest first, a page at a time",
    async () => {
      // Enough events for a second page (20 a page): renames of the AI key through the API.
      const [aiKey] = (await ownerApi.aiApiKeys.list(repoId)).apiKeys;
      for (let round = 1; round <= 20; round++) {
        await ownerApi.aiApiKeys.update(repoId, aiKey?.id ?? "", { name: `Claude ${round}` });
      }
      await ownerApi.aiApiKeys.update(repoId, aiKey?.id ?? "", { name: "Claude gateway" });

      // Events reach the trail through a queue: wait for all 32 of this repo's, then refresh.
      await expect
        .poll(async () => (await ownerApi.audit.repo(repoId, { limit: 100 })).events.length, {
          timeout: 30_000,
          interval: 500,
        })
        .toBe(32);
      const audit = section("Audit trail");
      const types = () => audit.locator("tbody tr td:nth-child(2)").allTextContents();
      await audit.getByRole("button", { name: "Refresh" }).click();
      await expect.poll(() => types()).toContain("ai_apikey.updated");
      const firstPage = await types();
      expect(firstPage).toHaveLength(20);
      expect(await audit.getByRole("button", { name: "Newer" }).isDisabled()).toBe(true);
      const firstRow = await audit.locator("tbody tr").first().locator("td").allTextContents();
      expect(firstRow[2]).toBe(owner); // actor
      expect(firstRow[4]).toMatch(/\S{8,}/); // request id
      expect(firstRow[5]).toMatch(/name: Claude 20 → Claude gateway/);
      await browser.screenshot("audit-page-1");

      await audit.getByRole("button", { name: "Older" }).click();
      await expect.poll(() => audit.locator(".page-position").textContent()).toBe("Page 2");
      const secondPage = await types();
      expect(secondPage).toEqual(
        expect.arrayContaining([
          "apikey.created",
          "apikey.updated",
          "apikey.rolled",
          "apikey.deleted",
          "ai_apikey.created",
          "repo.created",
        ]),
      );
      // Newest first: the repo's creation is its oldest event.
      expect(secondPage.at(-1)).toBe("repo.created");
      expect(await audit.getByRole("button", { name: "Older" }).isDisabled()).toBe(true);
      await browser.screenshot("audit-page-2");

      await audit.getByRole("button", { name: "Newer" }).click();
      await expect.poll(() => audit.locator(".page-position").textContent()).toBe("Page 1");
      expect(await types()).toEqual(firstPage);
    },
    STEP_MS,
  );

  it(
    "8. shows the API's refusals as given: the last ADMIN (409) and a READ member (403)",
    async () => {
      await page.getByRole("navigation", { name: "Breadcrumb" }).getByRole("link").last().click();
      await expect
        .poll(() => page.getByRole("heading", { level: 1 }).textContent())
        .toBe("Platform team");
      const members = section("Members");
      const ownerRow = () => members.locator("tbody tr", { hasText: owner });
      await expect.poll(() => ownerRow().count()).toBe(1);

      // Demoting the only ADMIN: the API's 409, its message as is, and a request id.
      const expected = await refusal(
        ownerApi.workspaces.members.update(workspaceId, owner, { role: "READ" }),
      );
      expect(expected.status).toBe(409);
      await ownerRow().getByLabel(`Role of ${owner}`).selectOption("READ");
      await ownerRow().getByRole("button", { name: "Save" }).click();
      const demoted = await alertText(members);
      expect(demoted).toContain(expected.message);
      expect(demoted).toContain("CONFLICT");
      expect(demoted).toMatch(/request id \S{8,}/);
      await browser.screenshot("last-admin-demote-refused");

      // Removing oneself, the only ADMIN: the dialog says it is you; the API refuses, the dialog stays.
      expect(await ownerRow().locator("td").first().textContent()).toBe(`${owner} (you)`);
      await ownerRow().getByRole("button", { name: "Remove" }).click();
      expect(await dialog().getByRole("heading").textContent()).toBe("Remove yourself");
      expect(await dialog().locator("p").first().textContent()).toBe(
        `Remove yourself (${owner}) from this workspace? You lose access to all of its repositories until an ADMIN adds you again.`,
      );
      await dialog().getByRole("button", { name: "Remove myself" }).click();
      const removed = await alertText(dialog());
      expect(removed).toContain(expected.message);
      expect(removed).toMatch(/request id \S{8,}/);
      await browser.screenshot("last-admin-remove-refused");
      await page.keyboard.press("Escape");
      await expect.poll(() => dialog().count()).toBe(0);

      // A READ member, added through the console.
      await members.getByLabel("User id", { exact: true }).fill(reader);
      await members.getByLabel("Role", { exact: true }).selectOption("READ");
      await members.getByRole("button", { name: "Add member" }).click();
      const readerRow = members.locator("tbody tr", { hasText: reader });
      await expect.poll(() => readerRow.count()).toBe(1);
      expect(await readerRow.locator("td").first().textContent()).toBe(reader);
      expect(await readerRow.getByLabel(`Role of ${reader}`).inputValue()).toBe("READ");
      await browser.screenshot("member-added");

      // The reader signs in on their own page and opens the repo: they may list, not create.
      readerBrowser = await openPage(baseUrl, "console-reader");
      const other = readerBrowser.page;
      await other.goto(`${baseUrl}/console#/repo/${repoId}`);
      await other.getByLabel("Access token").fill(await tokenFor(reader));
      await other.getByRole("button", { name: "Sign in" }).click();
      await expect
        .poll(() => other.getByRole("heading", { level: 1 }).textContent())
        .toBe("assets");
      const storage = other.getByRole("region", { name: "Storage keys" });
      await expect.poll(() => storage.textContent()).toContain("No storage keys yet.");
      const forbidden = await refusal(
        new FlashgateClient({ accessToken: await tokenFor(reader), baseUrl }).apiKeys.create(
          repoId,
          { name: "Mine", access: "WRITE" },
        ),
      );
      expect(forbidden.status).toBe(403);
      await storage.getByLabel("Name", { exact: true }).fill("Mine");
      await storage.getByLabel("Access", { exact: true }).selectOption("WRITE");
      await storage.getByRole("button", { name: "Create storage key" }).click();
      const createRefused = await alertText(storage);
      expect(createRefused).toContain(forbidden.message);
      expect(createRefused).toContain("FORBIDDEN");
      expect(createRefused).toMatch(/request id \S{8,}/);
      expect(await other.getByRole("dialog").count()).toBe(0);

      // The audit section stays, with the API's 403 in it.
      const audit = other.getByRole("region", { name: "Audit trail" });
      const auditRefused = await alertText(audit);
      expect(auditRefused).toContain("FORBIDDEN");
      expect(auditRefused).toMatch(/request id \S{8,}/);
      expect(await audit.getByRole("heading", { name: "Audit trail" }).isVisible()).toBe(true);
      await readerBrowser.screenshot("reader-refused");
      // Its two refusals (create, audit) and nothing else.
      expect(refusedStatuses(readerBrowser)).toEqual([403, 403]);
      expect(readerBrowser.problems()).toEqual([]);
    },
    STEP_MS,
  );

  it(
    "9. works from the keyboard: a dialog opened with Enter takes focus, Escape gives it back",
    async () => {
      await page.getByRole("link", { name: "assets", exact: true }).click();
      const rename = keyRow("AI keys", "Claude gateway").getByRole("button", { name: "Rename" });
      await rename.focus();
      await page.keyboard.press("Enter");
      await expect.poll(() => dialog().count()).toBe(1);
      const focus = () =>
        page.evaluate(() => {
          const active = document.activeElement as HTMLElement | null;
          return {
            inDialog: Boolean(active?.closest("dialog")),
            label: active?.id
              ? document.querySelector(`label[for="${active.id}"]`)?.textContent
              : undefined,
            text: active?.textContent,
            action: active?.dataset.action,
            outline: active ? getComputedStyle(active).outlineStyle : "",
          };
        });
      expect(await focus()).toMatchObject({ inDialog: true, label: "Name" });
      // Labelled by its heading.
      const labelledBy = await dialog().getAttribute("aria-labelledby");
      expect(await page.locator(`#${labelledBy}`).textContent()).toBe("Rename AI key");
      await page.keyboard.press("Tab");
      expect(await focus()).toMatchObject({ inDialog: true, text: "Cancel", outline: "solid" });
      await browser.screenshot("keyboard-dialog");

      await page.keyboard.press("Escape");
      await expect.poll(() => dialog().count()).toBe(0);
      expect(await focus()).toMatchObject({ inDialog: false, text: "Rename", action: "rename" });
      // The focused control shows it.
      expect((await focus()).outline).toBe("solid");
      expect(await keyRow("AI keys", "Claude gateway").count()).toBe(1);
    },
    STEP_MS,
  );

  it(
    "10. signs out, and a reload signs out too; nothing went wrong on the way",
    async () => {
      await page.getByRole("button", { name: "Sign out" }).click();
      await expect
        .poll(() => page.getByRole("heading", { level: 1 }).textContent())
        .toBe("Sign in");
      expect(await page.getByLabel("Access token").inputValue()).toBe("");

      await page.getByLabel("Access token").fill(await tokenFor(owner));
      await page.getByRole("button", { name: "Sign in" }).click();
      await expect.poll(() => page.getByRole("heading", { level: 1 }).textContent()).toBe("assets");
      // Everything the page asked for has been answered (a reload would abort it midway).
      const crumbs = page.getByRole("navigation", { name: "Breadcrumb" });
      await expect.poll(() => crumbs.getByRole("link", { name: "Platform team" }).count()).toBe(1);
      await expect.poll(() => keyRow("AI keys", "Claude gateway").count()).toBe(1);
      await expect
        .poll(() => section("Audit trail").locator(".page-position").textContent())
        .toBe("Page 1");
      await page.reload();
      await expect
        .poll(() => page.getByRole("heading", { level: 1 }).textContent())
        .toBe("Sign in");
      await expectNoSecretInPage(page);
      await browser.screenshot("signed-out");

      // Only the console's own files and the API were requested, all from this origin, and every
      // API call was to a path the public API documents.
      const origin = new URL(baseUrl).origin;
      expect(browser.requests().filter((url) => !url.startsWith(origin))).toEqual([]);
      const documented = Object.keys(committedDocument.paths).map(
        (path) => new RegExp(`^${path.replace(/\{\w+\}/g, "[^/]+")}$`),
      );
      const called = browser
        .requests()
        .map((url) => new URL(url).pathname)
        .filter((path) => !path.startsWith("/console"));
      expect(called.length).toBeGreaterThan(20);
      expect(called.filter((path) => !documented.some((route) => route.test(path)))).toEqual([]);
      // No page error, CSP violation or outside request; and only the refusals provoked above, in
      // order: the bad token, a past expiry at creation and in the expiry dialog, then demoting
      // and removing the last ADMIN.
      expect(browser.problems()).toEqual([]);
      expect(refusedStatuses(browser)).toEqual([401, 400, 400, 409, 409]);
    },
    STEP_MS,
  );

  it(
    "12. returns to sign-in with the API's message when the token stops being accepted",
    async () => {
      const expiring = await openPage(baseUrl, "console-expired");
      try {
        const { page: tab } = expiring;
        // Expired 25 s ago: the API allows 30 s of clock skew, so it signs in, then is refused.
        const exp = Math.floor(Date.now() / 1000) - 25;
        const token = await tokenFor(owner, { claims: { exp } });
        await tab.goto(`${baseUrl}/console#/workspace/${workspaceId}`);
        await tab.getByLabel("Access token").fill(token);
        await tab.getByRole("button", { name: "Sign in" }).click();
        const heading = () => tab.getByRole("heading", { level: 1 }).textContent();
        await expect.poll(heading).toBe("Platform team");

        await new Promise((done) => setTimeout(done, (exp + 31) * 1000 - Date.now()));
        const audit = tab.getByRole("region", { name: "Audit trail", exact: true });
        await audit.getByRole("button", { name: "Refresh" }).click();
        await expect.poll(heading).toBe("Sign in");
        const alert = await alertText(tab.getByRole("main"));
        expect(alert).toContain("You were signed out: the API no longer accepts your token.");
        expect(alert).toMatch(/expired/i);
        expect(alert).toMatch(/request id [0-9a-f-]{36}/);
        expect(await tab.getByLabel("Access token").inputValue()).toBe("");
        await expiring.screenshot("session-ended");
        // A new token takes the user back where they were.
        await tab.getByLabel("Access token").fill(await tokenFor(owner));
        await tab.getByRole("button", { name: "Sign in" }).click();
        await expect.poll(heading).toBe("Platform team");
        expect(expiring.refusals()).toEqual([`401 GET /workspace/${workspaceId}/audit`]);
        expect(expiring.problems()).toEqual([]);
      } finally {
        await expiring.close();
      }
    },
    STEP_MS,
  );

  it(
    "11. says so when the API cannot be reached",
    async () => {
      const offline = await openPage(baseUrl, "console-offline");
      try {
        await offline.page.goto(`${baseUrl}/console`);
        // The page has loaded; from now on the API is unreachable.
        await offline.page.route(`${baseUrl}/workspace`, (route) =>
          route.abort("internetdisconnected"),
        );
        await offline.page.getByLabel("Access token").fill(await tokenFor(owner));
        await offline.page.getByRole("button", { name: "Sign in" }).click();
        const alert = await alertText(offline.page.getByRole("main"));
        expect(alert).toMatch(/^Could not reach the API: \S/);
        expect(await offline.page.getByRole("heading", { level: 1 }).textContent()).toBe("Sign in");
        await offline.screenshot("api-unreachable");
        // The one call cut off is all that went wrong.
        expect(offline.problems().sort()).toEqual([
          "console error: Failed to load resource: net::ERR_INTERNET_DISCONNECTED",
          `request failed: ${baseUrl}/workspace (net::ERR_INTERNET_DISCONNECTED)`,
        ]);
      } finally {
        await offline.close();
      }
    },
    STEP_MS,
  );
});
