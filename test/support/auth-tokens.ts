import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { type CryptoKey, type JWTPayload, SignJWT } from "jose";
import { createApp } from "../../src/app";
import type { Bindings } from "../../src/env";
import type { ApiResponse } from "./api";
import { TEST_BINDINGS } from "./bindings";

export const nowSeconds = () => Math.floor(Date.now() / 1000);

export interface TokenOptions {
  /** Claims to set or, with `undefined`, to leave out (e.g. `{ exp: undefined }`). */
  claims?: Record<string, unknown>;
  alg?: string;
  kid?: string;
}

/**
 * A JWT signed with `key`: by default valid for the test configuration (a subject, its issuer
 * and audience, an expiry in 10 minutes), with `claims` overriding or removing any of those.
 */
export function signToken(
  key: Uint8Array | CryptoKey,
  { claims = {}, alg = "HS256", kid }: TokenOptions = {},
): Promise<string> {
  const defaults: JWTPayload = {
    sub: "token-user",
    iss: TEST_BINDINGS.JWT_ISSUER,
    aud: TEST_BINDINGS.JWT_AUDIENCE,
    iat: nowSeconds(),
    exp: nowSeconds() + 600,
  };
  const payload: Record<string, unknown> = { ...defaults, ...claims };
  for (const [name, value] of Object.entries(payload)) {
    if (value === undefined) delete payload[name];
  }
  return new SignJWT(payload)
    .setProtectedHeader({ alg, typ: "JWT", ...(kid ? { kid } : {}) })
    .sign(key);
}

/** The test configuration's HS256 secret, as bytes. */
export const testSecret = new TextEncoder().encode(TEST_BINDINGS.JWT_SECRET);

/**
 * One request to a fresh app whose bindings are the test configuration changed by `overrides`
 * (`undefined` removes a binding), against the real D1 and Queue.
 */
export async function callConfigured(
  overrides: Partial<Bindings>,
  path: string,
  authorization?: string,
): Promise<ApiResponse> {
  const headers = new Headers();
  if (authorization !== undefined) headers.set("Authorization", authorization);
  const request = new Request(`https://flashgate.test${path}`, { headers });
  const ctx = createExecutionContext();
  const response = await createApp().fetch(request, { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  const text = await response.text();
  const body = response.headers.get("Content-Type")?.includes("application/json")
    ? JSON.parse(text)
    : null;
  return { status: response.status, headers: response.headers, body, text };
}
