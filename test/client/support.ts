import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import { type FetchLike, FlashgateClient, FlashgateError } from "../../client/src/index.ts";
import { tokenFor } from "../support/api";

// The Worker's own default export (its fetch handler), as `wrangler.toml`'s main builds it.
const worker = (exports as unknown as { default: Fetcher }).default;

export const BASE_URL = "https://flashgate.test";

export interface SentRequest {
  method: string;
  url: string;
  headers: Headers;
  body: string | undefined;
}

/**
 * A client for `userId` whose requests reach the real Worker; `sent` records each request as
 * it left the client, to check what goes on the wire.
 */
export async function clientFor(userId: string, accessToken?: string) {
  const sent: SentRequest[] = [];
  const fetch: FetchLike = (url, init) => {
    sent.push({
      method: init.method ?? "GET",
      url,
      headers: new Headers(init.headers),
      body: init.body as string | undefined,
    });
    return worker.fetch(url, init);
  };
  const client = new FlashgateClient({
    accessToken: accessToken ?? (await tokenFor(userId)),
    baseUrl: BASE_URL,
    fetch,
  });
  return { client, sent };
}

/** The FlashgateError `promise` rejects with; fails if it resolves or throws anything else. */
export async function failureOf(promise: Promise<unknown>): Promise<FlashgateError> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!("error" in outcome))
    throw new Error(`expected a FlashgateError, got ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(FlashgateError);
  return outcome.error as FlashgateError;
}
