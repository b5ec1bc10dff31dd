import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, createWorkspace, expectError, newUser, team } from "./support/api";
import { createAiKey, createStorageKey } from "./support/keys";

const users = (workspaceId: string) => `/workspace/${workspaceId}/users`;

async function rowCount(table: string): Promise<number> {
  const row = await env.DB.prepare(`SELECT count(*) AS n FROM ${table}`).first<{ n: number }>();
  return row?.n ?? 0;
}

// Each of these would be a member distinct from "alice" that reads as "alice", or one that can
// never be named again (a lone surrogate is stored as U+FFFD).
const SPOOFING_IDS: [string, string, RegExp][] = [
  ["a lone high surrogate", "\ud800", /well-formed/],
  ["a lone low surrogate after text", "alice\udc00", /well-formed/],
  ["a zero-width space", "alice\u200b", /control or format/],
  ["a zero-width joiner", "al\u200dice", /control or format/],
  ["a right-to-left override", "\u202eecila", /control or format/],
  ["a first-strong isolate", "\u2068alice", /control or format/],
  ["a byte-order mark", "\ufeffalice", /whitespace|control or format/],
  ["a soft hyphen", "al\u00adice", /control or format/],
  ["a NUL", "ali\u0000ce", /control or format/],
  ["a leading space", " alice", /whitespace/],
  ["a trailing tab", "alice\t", /whitespace/],
  ["a trailing no-break space", "alice\u00a0", /whitespace/],
  ["a trailing newline", "alice\n", /whitespace/],
  ["nothing but spaces", "   ", /blank/],
  ["nothing", "", /empty/],
  ["a decomposed é (not NFC)", "rene\u0301", /NFC/],
  // What a red-team pass got accepted as members beside "alice" (issue 21, item 5).
  ["a Hangul filler (U+3164)", "alice\u3164", /invisible/],
  ["a combining grapheme joiner (U+034F)", "al\u034fice", /invisible/],
  ["a Hangul choseong filler (U+115F)", "\u115falice", /invisible/],
  ["a Hangul jungseong filler (U+1160)", "alice\u1160", /invisible/],
  ["a halfwidth Hangul filler (U+FFA0)", "alice\uffa0", /invisible/],
  ["a Khmer inherent vowel (U+17B4)", "alice\u17b4", /invisible/],
  ["a variation selector (U+FE0F)", "alice\ufe0f", /invisible/],
  ["a supplementary variation selector (U+E0100)", "alice\u{E0100}", /invisible/],
  ["a tag character (U+E0061)", "alice\u{E0061}", /control or format/],
  ["a blank braille pattern (U+2800)", "alice\u2800", /invisible/],
  ["a line separator (U+2028)", "ali\u2028ce", /whitespace/],
  ["a paragraph separator (U+2029)", "alice\u2029", /whitespace/],
  ["an inner ideographic space (U+3000)", "ali\u3000ce", /whitespace/],
  ["an inner space", "alice smith", /whitespace/],
  ["a Cyrillic а among Latin letters", "\u0430lice", /mix scripts/],
  ["a Greek ο among Latin letters", "b\u03bfb", /mix scripts/],
  ["Cyrillic and Greek", "\u0438\u03b1", /mix scripts/],
  ["Hangul and kana", "\uae40\u30ab", /mix scripts/],
];

// Real ids from identity providers and people: one script each, or Latin with Han and kana.
const REAL_IDS = [
  "alice",
  "user-42",
  "auth0|abc123",
  "auth0|5f2b",
  "google-oauth2|109876543210987654321",
  "user@example.com",
  "first.last+tag@mail.example.co.uk",
  "4b7c2e9a-3f1d-4e8b-9a6c-2d5f8e1b7c3a",
  "user_2b9f1c",
  "山田太郎",
  "たなか",
  "ユーザー-1",
  "김민수",
  "Ελένη",
  "Иван",
  "mañana",
  "jürgen",
  "Zoë.Ångström",
  "é",
  "東京tokyo",
  "山田たなか",
  "台北ㄅㄆ",
  "한국語",
  "مریم",
  "שרה",
  "राहुल",
];

describe("a member's user id", () => {
  for (const [what, userId, message] of SPOOFING_IDS) {
    it(`is refused (400) with ${what}, and nobody is added`, async () => {
      const { admin, workspaceId } = await team();
      const before = await rowCount("workspace_members");
      const response = await call("POST", users(workspaceId), {
        as: admin,
        body: { userId, role: "ADMIN" },
      });
      expectError(response, 400);
      expect(response.body.issues).toEqual([{ path: "userId", message: expect.any(String) }]);
      expect(response.body.issues[0].message).toMatch(message);
      expect(await rowCount("workspace_members")).toBe(before);
    });
  }

  it("that is a lone surrogate cannot be made ADMIN, so the last real ADMIN cannot leave", async () => {
    const admin = newUser("admin");
    const workspaceId = await createWorkspace(admin);
    const added = await call("POST", users(workspaceId), {
      as: admin,
      body: { userId: "\ud800", role: "ADMIN" },
    });
    expectError(added, 400, /well-formed/);
    const leave = await call("DELETE", `${users(workspaceId)}/${encodeURIComponent(admin)}`, {
      as: admin,
    });
    expectError(leave, 409);
    const listed = await call("GET", users(workspaceId), { as: admin });
    expect(listed.body.users.map((u: { userId: string }) => u.userId)).toEqual([admin]);
  });

  it("is refused in a path too: a role change for 'alice\\u200b' is 400, not a lookup", async () => {
    const { admin, workspaceId } = await team();
    const response = await call(
      "PUT",
      `${users(workspaceId)}/${encodeURIComponent("alice\u200b")}`,
      {
        as: admin,
        body: { role: "READ" },
      },
    );
    expectError(response, 400, /control or format/);
  });

  it("may be any one script, or Latin with Han and kana, with digits and punctuation", async () => {
    const { admin, workspaceId } = await team();
    for (const userId of REAL_IDS) {
      const response = await call("POST", users(workspaceId), {
        as: admin,
        body: { userId, role: "READ" },
      });
      expect(response.status, `${userId}: ${response.text}`).toBe(200);
    }
    const listed = await call("GET", users(workspaceId), { as: admin });
    const ids = listed.body.users.map((u: { userId: string }) => u.userId);
    expect(ids).toEqual(expect.arrayContaining(REAL_IDS));
    // Other files share this database and sign in as "alice": leave her in no workspace.
    for (const userId of REAL_IDS) {
      const removed = await call("DELETE", `${users(workspaceId)}/${encodeURIComponent(userId)}`, {
        as: admin,
      });
      expect(removed.status, `${userId}: ${removed.text}`).toBe(200);
    }
  });

  it("Cyrillic 'аlice' cannot sit beside Latin 'alice'; a token for it is refused too", async () => {
    const { admin, workspaceId } = await team();
    const alice = newUser("alice");
    const latin = await call("POST", users(workspaceId), {
      as: admin,
      body: { userId: alice, role: "READ" },
    });
    expect(latin.status, latin.text).toBe(200);
    const cyrillic = `\u0430${alice.slice(1)}`;
    const lookalike = await call("POST", users(workspaceId), {
      as: admin,
      body: { userId: cyrillic, role: "ADMIN" },
    });
    expectError(lookalike, 400);
    expect(lookalike.body.issues[0].message).toMatch(/mix scripts/);
    const token = await call("GET", "/workspace", { as: cyrillic });
    expectError(token, 401, /sub claim is not a valid user id/);
  });
  it("stored before these rules (an inner space, a Cyrillic mix) can still be changed and removed", async () => {
    const admin = newUser("admin");
    const workspaceId = await createWorkspace(admin);
    const legacy = ["Zo\u00eb \u00c5ngstr\u00f6m", `\u0430${newUser("lice")}`];
    for (const userId of legacy) {
      await env.DB.prepare(
        "INSERT INTO workspace_members (workspace_id, user_id, role, created_at) VALUES (?, ?, 'READ', ?)",
      )
        .bind(workspaceId, userId, new Date().toISOString())
        .run();
      const path = `${users(workspaceId)}/${encodeURIComponent(userId)}`;
      const changed = await call("PUT", path, { as: admin, body: { role: "WRITE" } });
      expect(changed.status, `${userId}: ${changed.text}`).toBe(200);
      const removed = await call("DELETE", path, { as: admin });
      expect(removed.status, `${userId}: ${removed.text}`).toBe(200);
    }
    const listed = await call("GET", users(workspaceId), { as: admin });
    expect(listed.body.users.map((u: { userId: string }) => u.userId)).toEqual([admin]);
  });
});

const HIDING_NAMES: [string, string, RegExp][] = [
  ["a right-to-left override", "invoice\u202efdp.exe", /bidi/],
  ["a left-to-right embedding", "\u202aname", /bidi/],
  ["a pop directional formatting", "name\u202c", /bidi/],
  ["a right-to-left isolate", "a\u2067b", /bidi/],
  ["a pop directional isolate", "a\u2069", /bidi/],
  ["a lone surrogate", "key \ud83d", /well-formed/],
  ["a control character", "a\u0007b", /control/],
];

// Emoji ZWJ sequences, right-to-left scripts with their marks, CJK: all ordinary names.
const FINE_NAMES = ["👩‍💻 Deploy bot", "מפתח ראשי", "عربي\u200f", "日本語のキー", "Ünïcödé"];

describe("names of workspaces, repos and keys", () => {
  for (const [what, name, message] of HIDING_NAMES) {
    it(`are refused (400) with ${what}, and nothing is written`, async () => {
      const { admin, workspaceId, repoId } = await team();
      const key = await createStorageKey(admin, repoId);
      const aiKey = await createAiKey(admin, repoId);
      const counts = async () =>
        Promise.all(["workspaces", "repos", "storage_keys", "ai_keys"].map(rowCount));
      const before = await counts();
      const attempts = [
        call("POST", "/workspace", { as: admin, body: { name } }),
        call("POST", "/repo", { as: admin, body: { name, workspaceId } }),
        call("POST", `/repo/${repoId}/apikey`, { as: admin, body: { name, accessType: "READ" } }),
        call("POST", `/repo/${repoId}/ai/apikey`, { as: admin, body: { name, aiType: "OPENAI" } }),
        call("PUT", `/repo/${repoId}/apikey/${key.id}`, { as: admin, body: { name } }),
        call("PUT", `/repo/${repoId}/ai/apikey/${aiKey.id}`, { as: admin, body: { name } }),
      ];
      for (const response of await Promise.all(attempts)) {
        expectError(response, 400);
        expect(response.body.issues?.[0]).toEqual({ path: "name", message: expect.any(String) });
        expect(response.body.issues[0].message).toMatch(message);
      }
      expect(await counts()).toEqual(before);
      const listed = await call("GET", `/repo/${repoId}/apikey`, { as: admin });
      expect(listed.body.keys.map((k: { name: string }) => k.name)).toEqual(["CI Bot"]);
    });
  }

  it("may be any script, emoji with zero-width joiners, and right-to-left marks", async () => {
    const { admin, workspaceId, repoId } = await team();
    for (const name of FINE_NAMES) {
      const workspace = await call("POST", "/workspace", { as: admin, body: { name } });
      expect(workspace.body.name).toBe(name);
      const repo = await call("POST", "/repo", { as: admin, body: { name, workspaceId } });
      expect(repo.status, repo.text).toBe(200);
      const shown = await call("GET", `/repo/${repo.body.id}`, { as: admin });
      expect(shown.body.repo.name).toBe(name);
      const key = await createStorageKey(admin, repoId, { name });
      const aiKey = await createAiKey(admin, repoId, { name });
      const renamed = await call("PUT", `/repo/${repoId}/apikey/${key.id}`, {
        as: admin,
        body: { name: `${name} 2` },
      });
      expect(renamed.status, renamed.text).toBe(200);
      expect(aiKey.id).toBeTruthy();
    }
    const keys = await call("GET", `/repo/${repoId}/ai/apikey`, { as: admin });
    expect(keys.body.apiKeys.map((k: { name: string }) => k.name).sort()).toEqual(
      [...FINE_NAMES].sort(),
    );
  });
});
