import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BrowserPage, browserAvailable, closeBrowser, openPage } from "./support/browser";
import { baseUrl, callApi, newUser, tokenFor } from "./support/http";
import { s3ClientFor, s3ErrorOf } from "./support/s3-gateway";

/**
 * The console's "Temporary credentials" action on a storage key, in a real browser: permission,
 * prefixes and lifetime in, the three values and an `aws` environment block out, once; the values
 * then work at the S3 gateway within their prefix only.
 */

describe.skipIf(!browserAvailable)("temporary credentials from the console", () => {
  let browser: BrowserPage;
  let token: string;
  let repoId: string;

  beforeAll(async () => {
    token = await tokenFor(newUser("console-temporary"));
    const workspaceId = (await callApi(token, "POST", "/workspace", { name: "Console team" })).id;
    repoId = (await callApi(token, "POST", "/repo", { name: "site", workspaceId })).id;
    await callApi(token, "POST", `/repo/${repoId}/apikey`, {
      name: "Deployer",
      accessType: "WRITE",
    });
    browser = await openPage(baseUrl, "console-temporary-credentials");
  });

  afterAll(async () => {
    await browser?.close();
    await closeBrowser();
  });

  it("issues them from a key's row and shows them once, with a ready-to-paste aws block", async () => {
    const { page } = browser;
    await page.goto(`${baseUrl}/console#/repo/${repoId}`);
    await page.getByLabel("Access token").fill(token);
    await page.getByLabel("Access token").press("Enter");
    const row = page
      .getByRole("region", { name: "Storage keys", exact: true })
      .locator("tbody tr", { has: page.getByRole("rowheader", { name: "Deployer", exact: true }) });
    await row.getByRole("button", { name: "Temporary credentials" }).click();

    const dialog = page.getByRole("dialog");
    await expect
      .poll(() => dialog.getByRole("heading").textContent())
      .toBe("Temporary credentials from “Deployer”");
    await dialog.getByLabel("Permission").selectOption("WRITE");
    await dialog.getByLabel("Key prefixes").fill("site/v2/\n");
    await dialog.getByLabel("Lifetime (seconds)").fill("600");
    await browser.screenshot("form");
    await dialog.getByRole("button", { name: "Issue credentials" }).click();

    await expect
      .poll(() => dialog.getByRole("heading").textContent())
      .toBe("Temporary credentials");
    const accessKeyId = (await dialog.locator("code.key-id").textContent()) ?? "";
    const [secretAccessKey = "", sessionToken = ""] = await dialog
      .locator("dd code.secret")
      .allTextContents();
    expect(accessKeyId).toMatch(/^FBTK[A-Z0-9]{16}$/);
    expect(secretAccessKey).toMatch(/^[A-Za-z0-9+/]{40}$/);
    expect(sessionToken).toMatch(/^FBST1\./);
    expect(await dialog.locator("pre.environment").textContent()).toBe(
      `export AWS_ACCESS_KEY_ID=${accessKeyId}\nexport AWS_SECRET_ACCESS_KEY=${secretAccessKey}\nexport AWS_SESSION_TOKEN=${sessionToken}`,
    );
    expect(await dialog.textContent()).toContain("They reach site/v2/ and work until");
    await dialog.getByRole("button", { name: "Copy environment" }).click();
    await expect
      .poll(() => dialog.getByRole("status").textContent())
      .toMatch(/Copied to the clipboard|press Ctrl\+C/);
    await browser.screenshot("shown-once");

    // What was shown works at the gateway, within its prefix only.
    const s3 = s3ClientFor({
      accessKeyId,
      secretAccessKey,
      sessionToken,
    } as { accessKeyId: string; secretAccessKey: string }).client;
    await s3.send(new PutObjectCommand({ Bucket: repoId, Key: "site/v2/index.html", Body: "<p>" }));
    expect(
      await s3ErrorOf(
        s3.send(new PutObjectCommand({ Bucket: repoId, Key: "site/v1/index.html", Body: "x" })),
      ),
    ).toEqual({ code: "AccessDenied", status: 403 });

    await dialog.getByRole("button", { name: "Done" }).click();
    await expect.poll(() => page.getByRole("dialog").count()).toBe(0);
    const html = await page.content();
    expect(html).not.toContain(secretAccessKey);
    expect(html).not.toContain(sessionToken);
    expect(browser.problems()).toEqual([]);
  }, 90_000);
});
