import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { browserAvailable, closeBrowser, openPage } from "./support/browser";
import { baseUrl, curl } from "./support/http";

// /docs is the API reference (Scalar), served by the Worker's static assets with every script and
// style it needs: it must work with no internet, and ask nothing of another origin.

describe("GET /docs over HTTP", () => {
  it("is an HTML page that loads /openapi.json and names no other origin", async () => {
    const page = await curl("/docs", []);
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    expect(page.text).toContain('data-url="/openapi.json"');
    expect(page.text).toContain('<script src="/docs/scalar.js"></script>');
    expect(page.text).not.toMatch(/(src|href)="(https?:)?\/\//);
    const csp = page.headers["content-security-policy"] ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("connect-src 'self';");
    expect(page.headers["x-content-type-options"]).toBe("nosniff");
  });

  it("serves the reference's script from the Worker, pinned to the installed release", async () => {
    const script = await fetch(`${baseUrl}/docs/scalar.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get("content-type")).toMatch(/javascript/);
    const installed = readFileSync(
      join(
        dirname(createRequire(import.meta.url).resolve("@scalar/api-reference")),
        "browser/standalone.js",
      ),
      "utf8",
    );
    expect(await script.text()).toBe(installed);
  });

  it("still answers the API's JSON 404 for paths that are not assets", async () => {
    const missing = await curl("/docs/nothing-here.js", []);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ success: false, code: "NOT_FOUND" });
  });
});

describe.skipIf(!browserAvailable)("the /docs page in a real browser", () => {
  afterAll(closeBrowser);

  it("renders every tag of the document offline, with no error and no request elsewhere", async () => {
    const document = (await curl("/openapi.json", [])).body;
    const browser = await openPage(baseUrl, "docs");
    try {
      const { page } = browser;
      await page.goto(`${baseUrl}/docs`);
      await page.getByRole("heading", { name: document.info.title }).waitFor({ timeout: 20_000 });
      for (const tag of document.tags as { name: string }[]) {
        await expect(page.getByText(tag.name, { exact: true }).first().isVisible()).resolves.toBe(
          true,
        );
      }
      await browser.screenshot("loaded");

      // An operation opens with its documented summary.
      await page.getByText("Storage API keys", { exact: true }).first().click();
      const summary = document.paths["/repo/{repoId}/apikey"].post.summary as string;
      await page.getByText(summary).first().waitFor({ timeout: 10_000 });
      await browser.screenshot("storage-keys");

      // Its curl example names the server: the origin serving the page (the document's relative
      // server "/"), not a bare path such as `curl /health`; its body is one the API accepts.
      const origin = new URL(baseUrl).origin;
      const shown = async () => (await page.locator("body").textContent()) ?? "";
      await expect.poll(shown).toContain(`curl ${origin}/repo/`);
      expect(await shown()).not.toMatch(/curl \/\w/);
      expect(await shown()).not.toMatch(/"(workspaceId|repoId|secret|name)": ""/);
      expect(await shown()).toContain('"name": "CI uploader"');
      expect(browser.requests().every((url) => new URL(url).origin === origin)).toBe(true);
      expect(browser.requests()).toContain(`${origin}/openapi.json`);
      expect(browser.problems()).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
