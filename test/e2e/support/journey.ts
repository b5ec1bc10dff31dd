import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";
import { expect } from "vitest";
import { type Answer, baseUrl, newUser, tokenFor } from "./http";

/** How one kind of client sends a request: a JSON body only for POST and PUT. */
export type Send = (
  method: string,
  path: string,
  options: { token?: string; body?: unknown },
) => Promise<Answer>;

/** "METHOD /openapi/{path}" of every request a journey made, to compare with the API's document. */
export const covered = new Set<string>();

/** Every operation the running Worker documents, as "METHOD /path/{param}". */
export async function documentedOperations(): Promise<string[]> {
  const document = await (await fetch(`${baseUrl}/openapi.json`)).json();
  return Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(
    ([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
  );
}

/**
 * Everything the README's API table lists, in the order a new team would do it, through one
 * kind of client: workspace, members, repo, storage and AI keys (create, list, update, delete),
 * the audit trail. Asserts each answer as the README promises it.
 */
export async function fullJourney(send: Send): Promise<void> {
  const admin = newUser("admin");
  const member = newUser("member");
  const token = await tokenFor(admin);
  const gateway = await tokenFor(newUser("gateway"), { scope: "keys:verify" });
  const ids: Record<string, string> = { userId: member };
  /** `path` is the document's template; {workspaceId}, {repoId}, {apikeyId}, {userId} are filled in. */
  const call = async (method: string, path: string, body?: unknown, status = 200) => {
    const filled = path.replace(/\{(\w+)\}/g, (_, name: string) =>
      encodeURIComponent(ids[name] ?? ""),
    );
    const as = path.startsWith("/verify/") ? gateway : token;
    const response = await send(method, filled, { token: as, body });
    expect(response.status, `${method} ${filled}: ${response.text}`).toBe(status);
    covered.add(`${method} ${path.split("?")[0]}`);
    return response.body;
  };

  expect(await call("GET", "/health")).toEqual({ status: "ok" });

  const workspace = await call("POST", "/workspace", { name: "Acme" });
  expect(workspace).toMatchObject({ success: true, name: "Acme" });
  ids.workspaceId = workspace.id;
  const ws = workspace.id as string;
  const mine = await call("GET", "/workspace");
  expect(mine.workspaces).toContainEqual(expect.objectContaining({ id: ws, role: "ADMIN" }));

  await call("POST", "/workspace/{workspaceId}/users", { userId: member, role: "READ" });
  await call("PUT", "/workspace/{workspaceId}/users/{userId}", { role: "WRITE" });
  const users = await call("GET", "/workspace/{workspaceId}/users");
  expect(users.users).toContainEqual(expect.objectContaining({ userId: member, role: "WRITE" }));

  const repo = await call("POST", "/repo", { name: "assets", workspaceId: ws });
  ids.repoId = repo.id;
  const repoId = repo.id as string;
  expect((await call("GET", "/repo?workspaceId={workspaceId}")).repos).toHaveLength(1);
  expect((await call("GET", "/repo/{repoId}")).repo).toMatchObject({ id: repoId, role: "ADMIN" });

  // Storage keys.
  const created = await call("POST", "/repo/{repoId}/apikey", {
    name: "CI Bot",
    accessType: "READ",
  });
  expect(created.key).toMatch(/^FBAK[A-Z0-9]{16}$/);
  expect(created.secret).toMatch(/^fbsk_[0-9A-Za-z]{35}$/);
  ids.apikeyId = created.id;
  const listed = await call("GET", "/repo/{repoId}/apikey");
  expect(listed.keys).toEqual([expect.objectContaining({ id: created.id, accessType: "READ" })]);
  expect(JSON.stringify(listed)).not.toContain(created.secret);
  // A storage gateway checks an S3 request signed with the key (AWS's own signer).
  const signed = await signedGet(created.key, created.secret, `/${repoId}/photos/cat.jpg`);
  expect(await call("POST", "/verify/s3", signed)).toMatchObject({
    valid: true,
    keyId: created.id,
    accessType: "READ",
  });
  // Roll with a grace period: the new secret and the old one both verify for now.
  const rolled = await call("POST", "/repo/{repoId}/apikey/{apikeyId}/roll", {
    gracePeriodSeconds: 300,
  });
  expect(rolled).toMatchObject({ id: created.id, key: created.key });
  expect((await call("POST", "/verify/s3", signed)).code).toBe("VALID");
  const signedWithNew = await signedGet(created.key, rolled.secret, `/${repoId}/photos/cat.jpg`);
  expect((await call("POST", "/verify/s3", signedWithNew)).code).toBe("VALID");
  // Disable, and the gateway hears it at once; enable again.
  await call("PUT", "/repo/{repoId}/apikey/{apikeyId}", { status: "INACTIVE" });
  expect((await call("POST", "/verify/s3", signedWithNew)).code).toBe("DISABLED");
  await call("PUT", "/repo/{repoId}/apikey/{apikeyId}", { status: "ACTIVE" });
  const page = await call("GET", "/repo/{repoId}/apikey?limit=1");
  expect(page.keys).toEqual([
    expect.objectContaining({
      id: created.id,
      status: "ACTIVE",
      previousSecretExpiresAt: rolled.previousSecretExpiresAt,
    }),
  ]);
  expect(page.nextCursor).toBeNull();
  await call("PUT", "/repo/{repoId}/apikey/{apikeyId}", { name: "CI", accessType: "WRITE" });
  expect((await call("GET", "/repo/{repoId}/apikey")).keys[0]).toMatchObject({
    name: "CI",
    accessType: "WRITE",
  });
  // Temporary credentials from the key: scoped, short-lived, nothing stored.
  const temporary = await call(
    "POST",
    "/repo/{repoId}/apikey/{apikeyId}/temporary-credentials",
    { permission: "READ", prefixes: ["photos/"], ttlSeconds: 600 },
    201,
  );
  expect(temporary.accessKeyId).toMatch(/^FBTK[A-Z0-9]{16}$/);
  const signedTemporary = await signedGet(
    temporary.accessKeyId,
    temporary.secretAccessKey,
    `/${repoId}/photos/cat.jpg`,
    temporary.sessionToken,
  );
  expect(await call("POST", "/verify/s3", signedTemporary)).toMatchObject({
    valid: true,
    keyId: created.id,
    key: temporary.accessKeyId,
    accessType: "READ",
    scope: { permission: "READ", prefixes: ["photos/"], objects: [], parentKeyId: created.id },
  });
  expect(await call("DELETE", "/repo/{repoId}/apikey/{apikeyId}")).toEqual({
    success: true,
    message: "API key deleted",
  });
  expect((await call("GET", "/repo/{repoId}/apikey")).keys).toEqual([]);
  await call("DELETE", "/repo/{repoId}/apikey/{apikeyId}", undefined, 404);
  expect((await call("POST", "/verify/s3", signed)).code).toBe("REVOKED");
  expect((await call("POST", "/verify/s3", signedTemporary)).code).toBe("REVOKED");

  // AI keys.
  const ai = await call(
    "POST",
    "/repo/{repoId}/ai/apikey",
    { name: "Gateway", aiType: "OPENAI" },
    201,
  );
  expect(ai.key).toMatch(/^FB_AI_/);
  ids.apikeyId = ai.id;
  expect((await call("GET", "/repo/{repoId}/ai/apikey")).apiKeys).toEqual([
    expect.objectContaining({ id: ai.id, name: "Gateway", repoId, deletedAt: null }),
  ]);
  expect(await call("POST", "/verify/ai", { secret: ai.secret })).toMatchObject({
    valid: true,
    keyId: ai.id,
    aiType: "OPENAI",
  });
  await call("PUT", "/repo/{repoId}/ai/apikey/{apikeyId}", {
    name: "Gateway 2",
    models: ["gpt-4o-mini"],
  });
  const aiRolled = await call("POST", "/repo/{repoId}/ai/apikey/{apikeyId}/roll", {});
  expect(aiRolled.previousSecretExpiresAt).toBeNull();
  expect((await call("POST", "/verify/ai", { secret: ai.secret })).code).toBe("INVALID");
  expect(await call("POST", "/verify/ai", { secret: aiRolled.secret })).toMatchObject({
    code: "VALID",
    models: ["gpt-4o-mini"],
  });

  // The repo's own key at an AI provider (docs/ai-providers.md): sealed, shown by its last 4.
  ids.aiType = "OPENAI";
  const provider = await call("PUT", "/repo/{repoId}/ai/provider/{aiType}", {
    apiKey: "sk-journey-000000000000-1234",
  });
  expect(provider).toMatchObject({ aiType: "OPENAI", apiKeyLast4: "1234" });
  expect((await call("GET", "/repo/{repoId}/ai/provider")).providers).toEqual([
    expect.objectContaining({ aiType: "OPENAI", baseUrl: "https://api.openai.com/v1" }),
  ]);
  await call("DELETE", "/repo/{repoId}/ai/provider/{aiType}", undefined, 204);
  await call("DELETE", "/repo/{repoId}/ai/provider/{aiType}", undefined, 404);
  expect(await call("DELETE", "/repo/{repoId}/ai/apikey/{apikeyId}")).toMatchObject({
    success: true,
  });
  expect((await call("GET", "/repo/{repoId}/ai/apikey")).apiKeys).toEqual([]);
  expect((await call("POST", "/verify/ai", { secret: aiRolled.secret })).code).toBe("REVOKED");

  // Leaked secrets (docs/secret-scanning.md): the workspace's response, a self-report, and
  // GitHub's endpoint, which takes no bearer token and refuses an unsigned report.
  expect(await call("GET", "/workspace/{workspaceId}/leak-response")).toEqual({
    success: true,
    leakResponse: "disable",
  });
  await call("PUT", "/workspace/{workspaceId}/leak-response", { leakResponse: "notify" });
  expect(await call("POST", "/leaks", { secret: aiRolled.secret })).toMatchObject({
    found: true,
    key: { id: ai.id },
  });
  await call("POST", "/secret-scanning/github", [], 401);

  expect(await call("DELETE", "/workspace/{workspaceId}/users/{userId}")).toMatchObject({
    success: true,
  });
  expect((await call("GET", "/workspace/{workspaceId}/users")).users).toHaveLength(1);

  // The audit trail: events travel through the local Queue, so they arrive shortly after.
  const expected = ["apikey.created", "apikey.updated", "apikey.deleted", "ai_apikey.deleted"];
  const wanted = [...expected, "workspace.member_removed"];
  let repoTypes: string[] = [];
  let workspaceTypes: string[] = [];
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
    repoTypes = (await call("GET", "/repo/{repoId}/audit?limit=50")).events.map(
      (event: { type: string }) => event.type,
    );
    workspaceTypes = (await call("GET", "/workspace/{workspaceId}/audit?limit=50")).events.map(
      (event: { type: string }) => event.type,
    );
    const arrived = (types: string[], of: string[]) => of.every((type) => types.includes(type));
    if (arrived(repoTypes, expected) && arrived(workspaceTypes, wanted)) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  expect(repoTypes).toEqual(expect.arrayContaining(expected));
  expect(workspaceTypes).toEqual(expect.arrayContaining(wanted));
}

/** A GET signed by AWS's SigV4 signer as S3 clients use it, as a /verify/s3 body. */
async function signedGet(
  accessKeyId: string,
  secretAccessKey: string,
  path: string,
  sessionToken?: string,
) {
  const host = "s3.flashgate.example";
  const signer = new SignatureV4({
    credentials: { accessKeyId, secretAccessKey, sessionToken },
    region: "auto",
    service: "s3",
    sha256: Sha256,
    uriEscapePath: false,
  });
  const request = await signer.sign({
    method: "GET",
    protocol: "https:",
    hostname: host,
    path,
    query: {},
    headers: {
      host,
      "x-amz-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    },
  });
  return { method: "GET", url: `https://${host}${path}`, headers: request.headers };
}
