import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BrowserPage, browserAvailable, closeBrowser, openPage } from "./support/browser";
import { baseUrl, callApi, newUser, tokenFor } from "./support/http";

/**
 * A key's rate limit in the console, in a real browser: shown in its row, set and removed with
 * the row's "Change" dialog, and what the API then lists is what the row shows.
 */

describe.skipIf(!browserAvailable)("a key's rate limit in the console", () => {
  let browser: BrowserPage;
  let token: string;
  let repoId: string;
  let keyId: string;

  beforeAll(async () => {
    token = await tokenFor(newUser("console-ratelimit"));
    const workspaceId = (await callApi(token, "POST", "/workspace", { name: "Console team" })).id;
    repoId = (await callApi(token, "POST", "/repo", { name: "limited", workspaceId })).id;
    keyId = (
      await callApi(token, "POST", `/repo/${repoId}/ai/apikey`, {
        name: "Chat bot",
        aiType: "OPENAI",
        ratelimit: { limit: 1000, periodSeconds: 3600 },
      })
    ).id;
    browser = await openPage(baseUrl, "key-rate-limits-console");
  });

  afterAll(async () => {
    await browser?.close();
    await closeBrowser();
  });

  const listed = async () =>
    (await callApi(token, "GET", `/repo/${repoId}/ai/apikey`)).apiKeys.find(
      (key: { id: string }) => key.id === keyId,
    ).ratelimit;

  it("shows the limit, changes it and removes it", async () => {
    const { page } = browser;
    await page.goto(`${baseUrl}/console#/repo/${repoId}`);
    await page.getByLabel("Access token").fill(token);
    await page.getByLabel("Access token").press("Enter");
    const row = page
      .getByRole("region", { name: "AI keys", exact: true })
      .locator("tbody tr", { has: page.getByRole("rowheader", { name: "Chat bot", exact: true }) });
    // Name, AI type, Key, Created, Last used, Status, Expires, then Rate limit.
    const limitCell = async () => (await row.locator("td, th").allTextContents())[7];
    await expect.poll(limitCell).toBe("1,000 per 3,600 s" + "Change");
    await browser.screenshot("limited");

    await row.getByRole("button", { name: "Change the rate limit of Chat bot" }).click();
    const dialog = page.getByRole("dialog");
    await expect
      .poll(() => dialog.getByRole("heading").textContent())
      .toBe("Change the rate limit of “Chat bot”");
    expect(await dialog.getByLabel("Verifications").inputValue()).toBe("1000");
    await dialog.getByLabel("Verifications").fill("5");
    await dialog.getByLabel("Per seconds").fill("60");
    await browser.screenshot("form");
    await dialog.getByRole("button", { name: "Save rate limit" }).click();
    await expect.poll(limitCell).toBe("5 per 60 s" + "Change");
    expect(await listed()).toEqual({ limit: 5, periodSeconds: 60 });

    await row.getByRole("button", { name: "Change the rate limit of Chat bot" }).click();
    await dialog.getByLabel("Verifications").fill("");
    await dialog.getByLabel("Per seconds").fill("");
    await dialog.getByRole("button", { name: "Save rate limit" }).click();
    await expect.poll(limitCell).toBe("—" + "Change");
    expect(await listed()).toBeNull();
    await browser.screenshot("removed");
  });

  it("keeps the dialog open with the API's refusal for a limit out of range", async () => {
    const { page } = browser;
    const row = page
      .getByRole("region", { name: "AI keys", exact: true })
      .locator("tbody tr", { has: page.getByRole("rowheader", { name: "Chat bot", exact: true }) });
    await row.getByRole("button", { name: "Change the rate limit of Chat bot" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Verifications").fill("5");
    // Only one of the two: the API refuses it (400), and the dialog says so.
    await dialog.getByRole("button", { name: "Save rate limit" }).click();
    await expect.poll(() => dialog.getByRole("alert").textContent()).toMatch(/periodSeconds/);
    expect(await listed()).toBeNull();
    await dialog.getByRole("button", { name: "Cancel" }).click();
  });
});
