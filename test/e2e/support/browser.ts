import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";

// A real browser for the pages the Worker serves (/docs, /console): Debian's chromium driven by
// playwright-core (playwright's own browser downloads need the internet). .ci/run installs it
// when it is missing and sets FLASHGATE_REQUIRE_BROWSER=1, so CI fails rather than skips.

const CANDIDATES = [
  process.env.CHROMIUM_PATH,
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
].filter((path): path is string => Boolean(path));

/** The browser this machine has, if any. */
export const chromiumPath = CANDIDATES.find((path) => existsSync(path));

if (!chromiumPath && process.env.FLASHGATE_REQUIRE_BROWSER) {
  throw new Error(
    `No chromium found (looked at ${CANDIDATES.join(", ")}); install it with apt-get install -y chromium or set CHROMIUM_PATH`,
  );
}
if (!chromiumPath) {
  console.warn(
    "Browser tests skipped: no chromium found. Install it (apt-get install -y chromium) or set CHROMIUM_PATH.",
  );
}

/** True when the browser tests can run here. */
export const browserAvailable = chromiumPath !== undefined;

const SCREENSHOTS = new URL("../.screenshots/", import.meta.url).pathname;

export interface BrowserPage {
  page: Page;
  /**
   * Everything that went wrong while the page was open: uncaught page errors, console errors
   * (a Content-Security-Policy violation is one), failed requests and any request for a URL
   * outside baseUrl's origin (answered with an error, so a page cannot silently depend on one).
   */
  problems(): string[];
  /** Every URL the page requested, in order. */
  requests(): string[];
  /**
   * The Worker's 4xx answers, e.g. "403 POST /repo/…/apikey", in order: refusals a page shows
   * its user. Chromium also logs each as a console error ("Failed to load resource: …"); those
   * lines are counted here, not in problems().
   */
  refusals(): string[];
  /**
   * Saves test/e2e/.screenshots/<name>/<NN>-<step>.png (git-ignored): what the window shows, or
   * with `{ fullPage: true }` the whole page.
   */
  screenshot(step: string, options?: { fullPage?: boolean }): Promise<void>;
  close(): Promise<void>;
}

let shared: Promise<Browser> | undefined;

/** One browser per test file; each page gets its own context (no shared storage). */
function browser(): Promise<Browser> {
  if (!chromiumPath) throw new Error("no chromium on this machine");
  shared ??= chromium.launch({
    executablePath: chromiumPath,
    // As root (CI containers), chromium refuses to start with its sandbox.
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
  });
  return shared;
}

/** Closes the file's browser (afterAll). */
export async function closeBrowser() {
  if (shared) await (await shared).close();
  shared = undefined;
}

/**
 * A fresh page in a fresh context, watched for problems, with screenshots under `name`.
 * `bypassCSP` lets a test inject its own script (an accessibility checker); never for tests
 * of what the page itself does.
 */
export async function openPage(
  baseUrl: string,
  name: string,
  { bypassCSP = false }: { bypassCSP?: boolean } = {},
): Promise<BrowserPage> {
  const origin = new URL(baseUrl).origin;
  const context = await (await browser()).newContext({
    viewport: { width: 1280, height: 900 },
    permissions: ["clipboard-read", "clipboard-write"],
    bypassCSP,
  });
  const page = await context.newPage();
  const problems: string[] = [];
  const requests: string[] = [];
  const refusals: string[] = [];

  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith("data:") || new URL(url).origin === origin) return route.continue();
    problems.push(`request outside the Worker: ${url}`);
    return route.abort("blockedbyclient");
  });
  page.on("request", (request) => requests.push(request.url()));
  // Only the API calls a page makes (fetch) can be refusals; a page's own file answering 4xx
  // (a missing script, style or image) stays a problem.
  const refusedUrls = new Set<string>();
  page.on("response", (response) => {
    const url = new URL(response.url());
    const status = response.status();
    const isCall = ["fetch", "xhr"].includes(response.request().resourceType());
    if (url.origin !== origin || !isCall || status < 400 || status >= 500) return;
    refusals.push(`${status} ${response.request().method()} ${url.pathname}`);
    refusedUrls.add(response.url());
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    const refused = /^Failed to load resource: the server responded with a status of 4\d\d\b/;
    if (refused.test(message.text()) && refusedUrls.has(message.location().url)) return;
    problems.push(`console error: ${message.text()}`);
  });
  page.on("requestfailed", (request) => {
    const failure = request.failure()?.errorText ?? "failed";
    // Aborted on purpose above, and already counted.
    if (failure !== "net::ERR_BLOCKED_BY_CLIENT")
      problems.push(`request failed: ${request.url()} (${failure})`);
  });

  const folder = join(SCREENSHOTS, name);
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true });
  let step = 0;

  return {
    page,
    problems: () => [...problems],
    requests: () => [...requests],
    refusals: () => [...refusals],
    async screenshot(label, { fullPage = false } = {}) {
      step += 1;
      const file = `${String(step).padStart(2, "0")}-${label.replace(/[^a-z0-9-]+/gi, "-")}.png`;
      await page.screenshot({ path: join(folder, file), fullPage });
    },
    close: () => context.close(),
  };
}
