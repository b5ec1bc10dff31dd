import { randomInt } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { baseUrl, newUser, tokenFor } from "./support/http";

// What Cloudflare sends as CF-Connecting-IP on every cross-zone Worker subrequest: any Worker on
// any zone calls from this one address. (Under wrangler dev the client's own value is kept.)
const WORKERS_ADDRESS = "2a06:98c0:3600::103";
// Other addresses of this run's own, from 198.18.0.0/15 (benchmarking).
const run = randomInt(0, 256);
let counter = 0;
const ownAddress = () => `198.${18 + (run % 2)}.${run}.${200 + (++counter % 50)}`;

const LIMIT = 100;

async function api(
  method: string,
  path: string,
  {
    token,
    authorization,
    from,
    body,
  }: {
    token?: string;
    authorization?: string;
    from?: string;
    body?: unknown;
  } = {},
) {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.Authorization = `Bearer ${token}`;
  if (authorization !== undefined) headers.Authorization = authorization;
  if (from) headers["CF-Connecting-IP"] = from;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : {} };
}

/** A fresh window of the local Rate Limiting binding (aligned to the wall clock), 10 s at least. */
async function withinOneWindow() {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 10_000) await new Promise((resolve) => setTimeout(resolve, left + 100));
}

describe("one address shared by every Worker on another zone", { timeout: 60_000 }, () => {
  it("after 100+ bad tokens from it, a valid token never seen before still gets in; bad ones are 429", async () => {
    await withinOneWindow();
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 5; i++) {
      const [header, payload] = (await tokenFor(`forger-${i}`)).split(".");
      // Well-formed JWTs with a wrong signature: each one costs a signature check.
      const forged = `${header}.${payload}.${"A".repeat(43)}`;
      statuses.push(
        (await api("GET", "/workspace", { token: forged, from: WORKERS_ADDRESS })).status,
      );
    }
    expect(statuses.slice(0, LIMIT)).toEqual(Array(LIMIT).fill(401));
    expect(new Set(statuses.slice(LIMIT))).toEqual(new Set([429]));

    // A user's token and a gateway's, each new to every isolate, from the same address.
    const user = await api("GET", "/workspace", {
      token: await tokenFor(newUser("newcomer")),
      from: WORKERS_ADDRESS,
    });
    expect(user.status, JSON.stringify(user.body)).toBe(200);
    const gateway = await api("POST", "/verify/ai", {
      token: await tokenFor(newUser("gateway"), { scope: "keys:verify" }),
      from: WORKERS_ADDRESS,
      body: { secret: "fbai_sk_not-a-real-secret" },
    });
    expect(gateway.status, JSON.stringify(gateway.body)).toBe(200);

    // Its failures are still refused, with the envelope and Retry-After, however they fail.
    for (const attempt of [{ token: "not-a-token" }, {}, { authorization: "Basic YTpi" }]) {
      const refused = await api("GET", "/workspace", { ...attempt, from: WORKERS_ADDRESS });
      expect(refused.status).toBe(429);
      expect(refused.body).toMatchObject({ success: false, code: "RATE_LIMITED" });
      const retryAfter = Number(refused.headers.get("Retry-After"));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
    }
  });
});

describe("the bearer challenge (RFC 6750 §3.1), over real HTTP", () => {
  it('no credentials: `Bearer`, no error code; a refused token: error="invalid_token"', async () => {
    const none = await api("GET", "/workspace", { from: ownAddress() });
    expect(none.status).toBe(401);
    expect(none.headers.get("WWW-Authenticate")).toBe("Bearer");
    const basic = await api("GET", "/workspace", {
      authorization: "Basic YTpi",
      from: ownAddress(),
    });
    expect(basic.status).toBe(401);
    expect(basic.headers.get("WWW-Authenticate")).toBe("Bearer");
    const bad = await api("GET", "/workspace", { token: "not-a-token", from: ownAddress() });
    expect(bad.status).toBe(401);
    expect(bad.headers.get("WWW-Authenticate")).toBe('Bearer error="invalid_token"');
  });
});

describe("one spelling per signature (RFC 7515 base64url), over real HTTP", () => {
  it("a signed token is accepted as signed, refused padded or with unused bits set", async () => {
    const token = await tokenFor(newUser("spelling"));
    const [header, payload, signature] = token.split(".") as [string, string, string];
    expect((await api("GET", "/workspace", { token })).status).toBe(200);
    // HS256: 43 characters, the last carrying 2 unused bits.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(signature.slice(-1));
    const respelled = [`${signature}=`, signature.slice(0, -1) + alphabet.charAt(last | 0b11)];
    for (const other of respelled) {
      expect(other).not.toBe(signature);
      const refused = await api("GET", "/workspace", {
        token: `${header}.${payload}.${other}`,
        from: ownAddress(),
      });
      expect(refused.status, other).toBe(401);
      expect(refused.body.message).toMatch(/canonical/);
    }
  });
});

describe("X-D1-Bookmark, over real HTTP", () => {
  let token: string;
  let workspaceId: string;
  let repoId: string;
  beforeAll(async () => {
    token = await tokenFor(newUser("bookmark-owner"));
    workspaceId = (await api("POST", "/workspace", { token, body: { name: "Positions" } })).body.id;
    repoId = (await api("POST", "/repo", { token, body: { name: "positions", workspaceId } })).body
      .id;
  });

  it("is on successes only: a 403, a 404 and a 400 do not reveal the database position", async () => {
    const listed = await api("GET", "/workspace", { token });
    expect(listed.status).toBe(200);
    expect(listed.headers.get("X-D1-Bookmark")).toMatch(/^[0-9a-f]+(-[0-9a-f]+)*$/);

    const stranger = await tokenFor(newUser("stranger"));
    const refusals = [
      await api("GET", `/workspace/${workspaceId}/users`, { token: stranger }),
      await api("GET", `/repo/${crypto.randomUUID()}`, { token: stranger }),
      await api("PUT", `/repo/${repoId}/apikey/${crypto.randomUUID()}`, {
        token,
        body: { name: "nobody" },
      }),
      await api("GET", `/workspace/${workspaceId}/audit?limit=0`, { token }),
    ];
    expect(refusals.map((r) => r.status)).toEqual([403, 403, 404, 400]);
    for (const refused of refusals) expect(refused.headers.get("X-D1-Bookmark")).toBeNull();
  });
});

describe("member ids that look alike, over real HTTP", () => {
  it("are 400: fillers, invisible marks, blank braille, separators and Cyrillic 'аlice'", async () => {
    const token = await tokenFor(newUser("members-admin"));
    const workspaceId = (await api("POST", "/workspace", { token, body: { name: "Members" } })).body
      .id;
    const users = `/workspace/${workspaceId}/users`;
    const lookalikes = [
      "alice\u3164",
      "al\u034fice",
      "\u115falice",
      "alice\uffa0",
      "alice\u17b4",
      "alice\ufe0f",
      "alice\u{E0100}",
      "alice\u2800",
      "ali\u2028ce",
      "\u0430lice",
    ];
    for (const userId of lookalikes) {
      const response = await api("POST", users, { token, body: { userId, role: "READ" } });
      expect(response.status, JSON.stringify(userId)).toBe(400);
      expect(response.body.issues[0].path).toBe("userId");
    }
    // Real ids, unique to this run: the dev server's database is shared by every e2e file.
    const suffix = `${run}${counter}`;
    const real = ["alice", "山田太郎", "Иван", "東京tokyo", "auth0|abc"].map(
      (id) => `${id}${suffix}`,
    );
    for (const userId of real) {
      const response = await api("POST", users, { token, body: { userId, role: "READ" } });
      expect(response.status, userId).toBe(200);
    }
    const members = await api("GET", users, { token });
    expect(members.body.users).toHaveLength(6);
  });
});
