import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FetchLike, FlashgateClient } from "../../client/src/index.ts";

// workerd has a `process` only under nodejs_compat; the client reads it defensively, and so do
// the tests: FLASHGATE_BASE_URL is cleared around each test wherever a process.env exists.
type MaybeNodeGlobal = { process?: { env?: Record<string, string | undefined> } };
const env = (globalThis as MaybeNodeGlobal).process?.env;
let saved: string | undefined;
beforeEach(() => {
  saved = env?.FLASHGATE_BASE_URL;
  if (env) delete env.FLASHGATE_BASE_URL;
});
afterEach(() => {
  if (env && saved !== undefined) env.FLASHGATE_BASE_URL = saved;
  else if (env) delete env.FLASHGATE_BASE_URL;
});

/** Records each URL the client asks for, answering `{ success: true, workspaces: [] }`. */
function recorder() {
  const urls: string[] = [];
  const fetch: FetchLike = async (url) => {
    urls.push(url);
    return Response.json({ success: true, workspaces: [] });
  };
  return { urls, fetch };
}

function constructionError(options: ConstructorParameters<typeof FlashgateClient>[0]): TypeError {
  let thrown: unknown;
  try {
    new FlashgateClient(options);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(TypeError);
  return thrown as TypeError;
}

describe("FlashgateClient baseUrl", () => {
  it("is required when FLASHGATE_BASE_URL is not set, and the constructor says so", () => {
    const error = constructionError({ accessToken: "secret-token" });
    expect(error.message).toMatch(/baseUrl is required/);
    expect(error.message).toMatch(/FLASHGATE_BASE_URL/);
    expect(constructionError({ accessToken: "t", baseUrl: "" }).message).toMatch(/baseUrl/);
  });

  it.each([
    "/api",
    "flashgate.example.com",
    "localhost:8787",
    "ftp://flashgate.example.com",
    "not a url",
  ])("refuses %j, naming baseUrl and the value but not the token", (baseUrl) => {
    const error = constructionError({ accessToken: "secret-token", baseUrl });
    expect(error.message).toMatch(/baseUrl must be an absolute http\(s\) URL/);
    expect(error.message).toContain(JSON.stringify(baseUrl));
    expect(error.message).not.toContain("secret-token");
  });

  it("keeps a path prefix, with or without trailing slashes", async () => {
    for (const baseUrl of [
      "https://gw.example.com/flashgate",
      "https://gw.example.com/flashgate/",
      "https://gw.example.com/flashgate//",
    ]) {
      const { urls, fetch } = recorder();
      await new FlashgateClient({ accessToken: "t", baseUrl, fetch }).workspaces.list();
      expect(urls).toEqual(["https://gw.example.com/flashgate/workspace"]);
    }
  });

  it.runIf(env)("falls back to FLASHGATE_BASE_URL, and an explicit baseUrl wins", async () => {
    if (!env) return;
    env.FLASHGATE_BASE_URL = "http://127.0.0.1:8787/v1";
    const fromEnv = recorder();
    await new FlashgateClient({ accessToken: "t", fetch: fromEnv.fetch }).workspaces.list();
    expect(fromEnv.urls).toEqual(["http://127.0.0.1:8787/v1/workspace"]);

    const explicit = recorder();
    const baseUrl = "https://flashgate.example.com";
    await new FlashgateClient({
      accessToken: "t",
      baseUrl,
      fetch: explicit.fetch,
    }).workspaces.list();
    expect(explicit.urls).toEqual(["https://flashgate.example.com/workspace"]);

    env.FLASHGATE_BASE_URL = "flashgate.example.com";
    expect(constructionError({ accessToken: "t" }).message).toMatch(
      /baseUrl \(from FLASHGATE_BASE_URL\) must be an absolute http\(s\) URL/,
    );
  });
});
