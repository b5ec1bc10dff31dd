import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { FlashgateClient } from "../../client/src/index.ts";
import { newUser, tokenFor } from "../support/api";

const worker = (exports as unknown as { default: Fetcher }).default;
const HEADER = "X-D1-Bookmark";
const OLDEST = "00000000-00000000-00000000-00000000000000000000000000000000";

/**
 * A client whose calls reach the real Worker; each call's bookmark as sent and as answered is
 * recorded. `rewrite` may change an answer's bookmark before the client sees it.
 */
async function recordedClient(rewrite?: (answered: string | null, call: number) => string | null) {
  const calls: { sent: string | null; answered: string | null }[] = [];
  const client = new FlashgateClient({
    accessToken: await tokenFor(newUser("bookmarks")),
    baseUrl: "https://flashgate.test",
    fetch: async (url, init) => {
      const sent = new Headers(init.headers).get(HEADER);
      const response = await worker.fetch(url, init);
      const answered = rewrite
        ? rewrite(response.headers.get(HEADER), calls.length)
        : response.headers.get(HEADER);
      calls.push({ sent, answered });
      const headers = new Headers(response.headers);
      if (answered === null) headers.delete(HEADER);
      else headers.set(HEADER, answered);
      return new Response(response.body, { status: response.status, headers });
    },
  });
  return { client, calls };
}

describe("@flashgate/client and X-D1-Bookmark", () => {
  it("sends nothing at first, then on every call the newest bookmark answered so far", async () => {
    const { client, calls } = await recordedClient();
    const { id: workspaceId } = await client.workspaces.create({ name: "Bookmarked" });
    const { id: repoId } = await client.repos.create({ name: "bookmarked", workspaceId });
    const created = await client.apiKeys.create(repoId, { name: "k", access: "READ" });
    const { keys } = await client.apiKeys.list(repoId);

    expect(keys.map((key) => key.id)).toEqual([created.id]);
    expect(calls).toHaveLength(4);
    expect(calls[0]?.sent).toBeNull();
    for (let i = 1; i < calls.length; i++) {
      expect(calls[i - 1]?.answered, `answer ${i - 1}`).toMatch(/^[0-9a-f-]+$/);
      expect(calls[i]?.sent, `call ${i}`).toBe(calls[i - 1]?.answered);
    }
  });

  it("keeps its bookmark across a failure, which answers none", async () => {
    const { client, calls } = await recordedClient();
    await client.workspaces.list();
    await expect(client.repos.get(crypto.randomUUID())).rejects.toMatchObject({ status: 403 });
    await client.workspaces.list();
    expect(calls[0]?.answered).toMatch(/^[0-9a-f-]+$/);
    expect(calls[1]?.answered).toBeNull();
    expect(calls[2]?.sent).toBe(calls[0]?.answered);
  });

  it("never goes back to an older bookmark answered later (calls answered out of order)", async () => {
    // The second answer claims an older position than the first.
    const { client, calls } = await recordedClient((answered, call) =>
      call === 1 ? OLDEST : answered,
    );
    await client.workspaces.list();
    await client.workspaces.list();
    await client.workspaces.list();
    expect(calls[1]?.answered).toBe(OLDEST);
    expect(calls[2]?.sent).toBe(calls[0]?.answered);
  });
});
