import { randomInt } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { baseUrl, curl, newUser, rawRequest, tokenFor } from "./support/http";

// Under wrangler dev the client's own CF-Connecting-IP is kept (the edge sets it in production):
// each test that fails on purpose does so from an address of its own, so no other test file
// sharing this dev server (all from 127.0.0.1) is throttled by it.
// Addresses from 198.18.0.0/15 (benchmarking), random per run so a rerun within the minute starts
// clean.
const run = randomInt(0, 256);
let addressCounter = 0;
const ownAddress = () => `198.${18 + (run % 2)}.${run}.${++addressCounter}`;

let admin: string;
let adminToken: string;
let workspaceId: string;
let repoId: string;

const api = async (
  method: string,
  path: string,
  { token = adminToken, body, from }: { token?: string; body?: unknown; from?: string } = {},
) => {
  const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (from) headers["CF-Connecting-IP"] = from;
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? JSON.parse(text) : undefined,
  };
};

beforeAll(async () => {
  admin = newUser("hardening");
  adminToken = await tokenFor(admin);
  workspaceId = (await api("POST", "/workspace", { body: { name: "Hardening" } })).body.id;
  repoId = (await api("POST", "/repo", { body: { name: "r", workspaceId } })).body.id;
});

describe("identifiers, over real HTTP", () => {
  it("a lone surrogate member id (escaped JSON) is 400, so the only ADMIN still cannot leave", async () => {
    // The JSON text as a client writes it: the escape, not the code unit.
    const added = await api("POST", `/workspace/${workspaceId}/users`, {
      body: '{"userId":"\\ud800","role":"ADMIN"}',
    });
    expect(added.status).toBe(400);
    expect(added.body).toMatchObject({ success: false, code: "VALIDATION_FAILED" });
    expect(added.body.issues).toEqual([
      { path: "userId", message: "must be well-formed Unicode (a lone surrogate)" },
    ]);
    const leave = await api("DELETE", `/workspace/${workspaceId}/users/${admin}`);
    expect(leave.status).toBe(409);
    const members = await api("GET", `/workspace/${workspaceId}/users`);
    expect(members.body.users.map((u: { userId: string }) => u.userId)).toEqual([admin]);
  });

  it("the same surrogate as raw bytes (ED A0 80, not UTF-8) is 400 too", async () => {
    const body = Buffer.concat([
      Buffer.from('{"userId":"'),
      Buffer.from([0xed, 0xa0, 0x80]),
      Buffer.from('","role":"READ"}'),
    ]);
    const response = await rawRequest(
      "POST",
      `/workspace/${workspaceId}/users`,
      [
        ["Authorization", `Bearer ${adminToken}`],
        ["Content-Type", "application/json"],
        ["Content-Length", String(body.length)],
      ],
      [body],
    );
    expect(response.status).toBe(400);
    expect(response.body.success).toBe(false);
  });

  it("look-alike member ids are 400 with curl: zero-width space, right-to-left override, padding", async () => {
    for (const userId of ["alice\u200b", "\u202eecila", " alice", "alice\u00a0"]) {
      const response = await curl(`/workspace/${workspaceId}/users`, [
        ...["-X", "POST", "-H", `Authorization: Bearer ${adminToken}`],
        ...["-H", "Content-Type: application/json"],
        ...["--data-binary", JSON.stringify({ userId, role: "READ" })],
      ]);
      expect(response.status, JSON.stringify(userId)).toBe(400);
      expect(response.body.issues[0].path).toBe("userId");
    }
  });

  it("a key name with a bidi override is 400; an emoji ZWJ name round-trips", async () => {
    const refused = await api("POST", `/repo/${repoId}/apikey`, {
      body: { name: "invoice\u202efdp.exe", accessType: "READ" },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.issues[0].message).toMatch(/bidi override or isolate/);
    const name = "👩‍💻 Deploy";
    const created = await api("POST", `/repo/${repoId}/apikey`, {
      body: { name, accessType: "READ" },
    });
    expect(created.status).toBe(200);
    const listed = await api("GET", `/repo/${repoId}/apikey`);
    expect(listed.body.keys.map((k: { name: string }) => k.name)).toEqual([name]);
  });
});

describe("token limits, over real HTTP", () => {
  it("a token expiring in the year 9999 is 401, each time it is sent", async () => {
    const token = await tokenFor(newUser("forever"), { claims: { exp: 253_402_300_799 } });
    for (let i = 0; i < 2; i++) {
      const response = await api("GET", "/workspace", { token, from: ownAddress() });
      expect(response.status).toBe(401);
      expect(response.body.message).toMatch(/lifetime .* maximum of 86400 seconds/);
      expect(response.headers.get("WWW-Authenticate")).toBe('Bearer error="invalid_token"');
    }
  });

  it("a token issued an hour from now is 401; one issued now with a day to live is accepted", async () => {
    const now = Math.floor(Date.now() / 1000);
    const future = await tokenFor(newUser("early"), {
      claims: { iat: now + 3600, exp: now + 7200 },
    });
    const refused = await api("GET", "/workspace", { token: future, from: ownAddress() });
    expect(refused.status).toBe(401);
    expect(refused.body.message).toMatch(/iat claim is in the future/);
    const day = await tokenFor(newUser("day"), { claims: { iat: now, exp: now + 86_400 } });
    expect((await api("GET", "/workspace", { token: day })).status).toBe(200);
  });

  it("a blank sub is 401", async () => {
    const token = await tokenFor("   ");
    const response = await api("GET", "/workspace", { token, from: ownAddress() });
    expect(response.status).toBe(401);
    expect(response.body.message).toMatch(/sub claim is not a valid user id/);
  });
});

describe("throttled authentication failures, over real HTTP", () => {
  it("100 failures a minute from one address are 401, then 429 with Retry-After and the envelope", async () => {
    const from = ownAddress();
    // Local rate-limit windows are aligned to the wall clock: count to the limit inside one.
    const left = 60_000 - (Date.now() % 60_000);
    if (left < 10_000) await new Promise((resolve) => setTimeout(resolve, left + 100));
    const statuses: number[] = [];
    for (let i = 0; i < 100; i++) {
      statuses.push((await api("GET", "/workspace", { token: "not-a-token", from })).status);
    }
    expect(new Set(statuses)).toEqual(new Set([401]));
    const throttled = await api("GET", "/workspace", { token: "not-a-token", from });
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get("Retry-After")).toBe("60");
    expect(throttled.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(throttled.body).toMatchObject({ success: false, code: "RATE_LIMITED" });
    expect(throttled.body.requestId).toBe(throttled.headers.get("X-Request-Id"));
    // A valid token no isolate has seen is still verified from that address, and gets in…
    const fresh = await api("GET", "/workspace", { token: await tokenFor(newUser()), from });
    expect(fresh.status).toBe(200);
    // …as do another address, and the admin's token already accepted.
    expect((await api("GET", "/workspace", { from })).status).toBe(200);
    expect((await api("GET", "/workspace", { from: ownAddress() })).status).toBe(200);
  });
});
