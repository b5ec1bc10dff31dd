import { exports } from "cloudflare:workers";
import { SignJWT } from "jose";
import { expect } from "vitest";
import type { Role } from "../../src/access/roles";
import { TEST_BINDINGS } from "./bindings";

// The Worker's own default export (its fetch handler), as `wrangler.toml`'s main builds it.
const worker = (exports as unknown as { default: Fetcher }).default;

const secret = new TextEncoder().encode(TEST_BINDINGS.JWT_SECRET);

/** A valid token for `userId`, signed with the test configuration's secret. */
export function tokenFor(userId: string): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(userId)
    .setIssuer(TEST_BINDINGS.JWT_ISSUER)
    .setAudience(TEST_BINDINGS.JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime("10m")
    .sign(secret);
}

export interface CallOptions {
  /** Sends a fresh token for this user. */
  as?: string;
  /** Sends this exact Authorization header value. */
  authorization?: string;
  /** Sent as JSON unless it is already a string. */
  body?: unknown;
  headers?: Record<string, string>;
}

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** One HTTP request to the Worker, through its real fetch handler, as a client would send it. */
export async function call<T = any>(
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<ApiResponse<T>> {
  const headers = new Headers(options.headers);
  if (options.as !== undefined)
    headers.set("Authorization", `Bearer ${await tokenFor(options.as)}`);
  if (options.authorization !== undefined) headers.set("Authorization", options.authorization);
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
    if (!headers.has("Content-Type")) headers.set("Content-Type", "application/json");
  }
  const response = await worker.fetch(`https://flashgate.test${path}`, {
    method,
    headers,
    body,
  });
  const text = await response.text();
  let parsed: unknown = null;
  // A HEAD answer is typed JSON but has no body.
  if (text && response.headers.get("Content-Type")?.includes("application/json")) {
    parsed = JSON.parse(text);
  }
  return { status: response.status, headers: response.headers, body: parsed as T, text };
}

/** Asserts the error envelope every failure must have. */
export function expectError(response: ApiResponse, status: number, message?: string | RegExp) {
  expect(response.status, response.text).toBe(status);
  expect(response.headers.get("Content-Type")).toMatch(/^application\/json/);
  expect(response.body.success).toBe(false);
  expect(typeof response.body.message).toBe("string");
  expect(response.body.message.length).toBeGreaterThan(0);
  if (message instanceof RegExp) expect(response.body.message).toMatch(message);
  else if (message !== undefined) expect(response.body.message).toBe(message);
}

let counter = 0;
/** A user id unique to this test run. */
export function newUser(label = "user"): string {
  counter += 1;
  return `${label}-${counter}-${crypto.randomUUID().slice(0, 8)}`;
}

export async function createWorkspace(owner: string, name = "Workspace"): Promise<string> {
  const response = await call("POST", "/workspace", { as: owner, body: { name } });
  expect(response.status, response.text).toBe(200);
  return response.body.id;
}

export async function addMember(admin: string, workspaceId: string, userId: string, role: Role) {
  const response = await call("POST", `/workspace/${workspaceId}/users`, {
    as: admin,
    body: { userId, role },
  });
  expect(response.status, response.text).toBe(200);
}

export async function createRepo(
  owner: string,
  workspaceId: string,
  name = `repo-${newUser("r")}`,
) {
  const response = await call("POST", "/repo", { as: owner, body: { name, workspaceId } });
  expect(response.status, response.text).toBe(200);
  return response.body.id as string;
}

/** A workspace owned by an ADMIN, with a WRITE and a READ member and one repo. */
export async function team() {
  const admin = newUser("admin");
  const writer = newUser("writer");
  const reader = newUser("reader");
  const outsider = newUser("outsider");
  const workspaceId = await createWorkspace(admin);
  await addMember(admin, workspaceId, writer, "WRITE");
  await addMember(admin, workspaceId, reader, "READ");
  const repoId = await createRepo(admin, workspaceId);
  return { admin, writer, reader, outsider, workspaceId, repoId };
}

/**
 * Waits, when fewer than `needMs` are left, for the next window of the Rate Limiting bindings:
 * locally their windows are aligned to the wall clock (60 s), so a test that counts to a limit
 * must do it inside one window or its count restarts midway.
 */
export async function withinOneRateLimitWindow(needMs = 10_000, periodMs = 60_000): Promise<void> {
  const left = periodMs - (Date.now() % periodMs);
  if (left < needMs) await new Promise((resolve) => setTimeout(resolve, left + 100));
}
