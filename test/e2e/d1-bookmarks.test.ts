import { describe, expect, it } from "vitest";
import { FlashgateClient } from "../../client/src/index.ts";
import { baseUrl, newUser, rawRequest, tokenFor } from "./support/http";

const HEADER = "X-D1-Bookmark";
// What local D1 under wrangler dev writes, as deployed D1 does: 8-8-8-32 lower-case hex digits.
const D1_BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/;

async function api(
  method: string,
  path: string,
  token: string,
  { body, bookmark }: { body?: unknown; bookmark?: string } = {},
) {
  const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
  if (bookmark !== undefined) headers[HEADER] = bookmark;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return {
    status: response.status,
    bookmark: response.headers.get(HEADER),
    body: await response.json(),
  };
}

describe("D1 bookmarks over real HTTP (npm run dev)", () => {
  it("every success carries the session's bookmark, in D1's format; a refusal none", async () => {
    const token = await tokenFor(newUser("bookmarks"));
    const created = await api("POST", "/workspace", token, { body: { name: "Bookmarked" } });
    expect(created.status).toBe(200);
    expect(created.bookmark).toMatch(D1_BOOKMARK);

    const listed = await api("GET", "/workspace", token);
    expect(listed.status).toBe(200);
    expect(listed.bookmark).toMatch(D1_BOOKMARK);

    const refused = await api("GET", `/repo/${crypto.randomUUID()}`, token);
    expect(refused.status).toBe(403);
    expect(refused.bookmark).toBeNull();
  });

  it("a write's bookmark, sent back with a read, is accepted and the read sees the write", async () => {
    const token = await tokenFor(newUser("ryw"));
    const workspace = await api("POST", "/workspace", token, { body: { name: "Fresh" } });
    const repo = await api("POST", "/repo", token, {
      body: { name: "fresh", workspaceId: workspace.body.id },
      bookmark: workspace.bookmark as string,
    });
    expect(repo.status).toBe(200);
    const written = repo.bookmark as string;
    expect(written).toMatch(D1_BOOKMARK);
    expect(written > (workspace.bookmark as string)).toBe(true);

    const read = await api("GET", `/repo/${repo.body.id}`, token, { bookmark: written });
    expect(read.status).toBe(200);
    expect(read.body.repo).toMatchObject({ id: repo.body.id, name: "fresh" });
    expect((read.bookmark as string) >= written).toBe(true);
  });

  it("a malformed bookmark is a 400 in the error envelope, and the write is not made", async () => {
    const token = await tokenFor(newUser("malformed"));
    const before = await api("GET", "/workspace", token);
    for (const bookmark of ["garbage", "first-primary", "0".repeat(129), "00000000-ABCDEF00"]) {
      const answer = await rawRequest(
        "POST",
        "/workspace",
        [
          ["Authorization", `Bearer ${token}`],
          ["Content-Type", "application/json"],
          [HEADER, bookmark],
        ],
        [JSON.stringify({ name: "Never" })],
      );
      expect(answer.status, bookmark).toBe(400);
      expect(answer.body).toMatchObject({ success: false, code: "BAD_REQUEST" });
      expect(answer.body.message).toContain(HEADER);
      expect(answer.body.requestId).toBe(answer.headers["x-request-id"]);
    }
    const after = await api("GET", "/workspace", token);
    expect(after.body.workspaces).toEqual(before.body.workspaces);
  });

  it("@flashgate/client sends back the newest bookmark it was answered", async () => {
    const sent: (string | null)[] = [];
    const answered: (string | null)[] = [];
    const client = new FlashgateClient({
      accessToken: await tokenFor(newUser("client")),
      baseUrl,
      fetch: async (url, init) => {
        sent.push(new Headers(init.headers).get(HEADER));
        const response = await fetch(url, init);
        answered.push(response.headers.get(HEADER));
        return response;
      },
    });
    const { id: workspaceId } = await client.workspaces.create({ name: "Client" });
    const { id: repoId } = await client.repos.create({ name: "client", workspaceId });
    const { repo } = await client.repos.get(repoId);

    expect(repo.id).toBe(repoId);
    expect(sent[0]).toBeNull();
    expect(answered[0]).toMatch(D1_BOOKMARK);
    expect(sent[1]).toBe(answered[0]);
    expect(sent[2]).toBe(answered[1]);
  });
});
