import { FlashgateClient, type FlashgateError } from "@flashgate/client";

// The signed-in client, and with it the token, live only in this module's memory: never in
// storage, cookies or the URL. Reloading the page drops them, and so signs out.
let client: FlashgateClient | undefined;
let userId: string | undefined;

/** Checks the token by listing workspaces; keeps the client only if the API accepts it. */
export async function signIn(token: string): Promise<void> {
  const candidate = new FlashgateClient({ accessToken: token, baseUrl: location.origin });
  await candidate.workspaces.list();
  client = candidate;
  userId = subjectOf(token);
}

export function signOut(): void {
  client = undefined;
  userId = undefined;
}

let onEnded: ((reason: FlashgateError) => void) | undefined;

/** What to do when the API stops accepting the token (main.ts: back to the sign-in page). */
export function whenSessionEnds(handler: (reason: FlashgateError) => void): void {
  onEnded = handler;
}

/**
 * The API answered 401 to a signed-in call: the token expired or was revoked. Signs out and
 * says why, once; false when no one was signed in (a refused sign-in is the form's own error).
 */
export function sessionRefused(reason: FlashgateError): boolean {
  if (!client) return false;
  signOut();
  onEnded?.(reason);
  return true;
}

/** The signed-in client; pages are only rendered while there is one. */
export function api(): FlashgateClient {
  if (!client) throw new Error("Not signed in");
  return client;
}

export const signedIn = () => client !== undefined;

/** The user id the token names (its `sub`), for display only: the API decides who it is. */
export const currentUser = () => userId;

function subjectOf(token: string): string | undefined {
  const payload = token.split(".")[1];
  if (!payload) return undefined;
  try {
    // base64url → bytes → UTF-8: atob alone would garble a `sub` outside Latin-1.
    const binary = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
    const json = new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
    const sub = (JSON.parse(json) as { sub?: unknown }).sub;
    return typeof sub === "string" ? sub : undefined;
  } catch {
    return undefined;
  }
}
