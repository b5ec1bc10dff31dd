import { randomInt } from "node:crypto";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { beforeAll, describe, expect, it } from "vitest";
import { baseUrl, callApi, newUser, tokenFor } from "./support/http";
import { capturingS3Client } from "./support/s3-signing";

/**
 * Failure limits against `npm run dev` over HTTP: a client address that sent 105 requests
 * signed by a deleted or unknown key (a stale client, or an attacker behind the same NAT) has
 * its failures answered RATE_LIMITED, yet every correct signature and AI secret from it is
 * still VALID. The Rate Limiting binding allows 100 failures per 60 s (wrangler.toml).
 */

const LIMIT = 100;

interface Key {
  id: string;
  key: string;
  secret: string;
}

let userToken: string;
let gatewayToken: string;
let repoId: string;

const api = (method: string, path: string, body?: unknown) =>
  callApi(userToken, method, path, body);

/** POST /verify/{kind} as a gateway asks, for a client at `clientIp`: the decision's code. */
async function verify(kind: "s3" | "ai", body: object, clientIp: string) {
  const response = await fetch(`${baseUrl}/verify/${kind}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${gatewayToken}`, "Content-Type": "application/json" },
    body: JSON.stringify({ ...body, clientIp }),
  });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return JSON.parse(text);
}

/** A client address of this run only (198.18.0.0/15, for benchmarks): blocks are per address. */
const newAddress = () => `198.18.${randomInt(256)}.${randomInt(1, 255)}`;

/** Waits, if need be, so that the next 20 s fall inside one of the limiter's 60 s windows. */
async function withinOneWindow() {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 20_000) await new Promise((resolve) => setTimeout(resolve, left + 200));
}

const signedGet = (key: { key: string; secret: string }) =>
  capturingS3Client({ accessKeyId: key.key, secretAccessKey: key.secret }).signed(
    new GetObjectCommand({ Bucket: repoId, Key: "photos/cat.jpg" }),
  );

beforeAll(async () => {
  userToken = await tokenFor(newUser("limits-owner"));
  gatewayToken = await tokenFor("e2e-limits-gateway", { scope: "keys:verify" });
  const workspaceId = (await api("POST", "/workspace", { name: "Limits team" })).id;
  repoId = (await api("POST", "/repo", { name: "bucket", workspaceId })).id;
});

describe("a client address whose requests failed 105 times", { timeout: 60_000 }, () => {
  it("signed by a deleted storage key: its failures become SlowDown, a valid key from it is still VALID", async () => {
    const deleted: Key = await api("POST", `/repo/${repoId}/apikey`, {
      name: "Stale CI",
      accessType: "READ",
    });
    const valid: Key = await api("POST", `/repo/${repoId}/apikey`, {
      name: "Working CI",
      accessType: "READ",
    });
    await api("DELETE", `/repo/${repoId}/apikey/${deleted.id}`);
    const stale = await signedGet(deleted);
    const clientIp = newAddress();
    await withinOneWindow();

    const codes: string[] = [];
    for (let i = 0; i < 105; i++) codes.push((await verify("s3", stale, clientIp)).code);
    expect(new Set(codes.slice(0, LIMIT))).toEqual(new Set(["REVOKED"]));
    expect(new Set(codes.slice(LIMIT))).toEqual(new Set(["RATE_LIMITED"]));

    const answer = await verify("s3", await signedGet(valid), clientIp);
    expect(answer).toMatchObject({ valid: true, code: "VALID", keyId: valid.id, repoId });
    // The stale client is still slowed down.
    expect(await verify("s3", await signedGet(deleted), clientIp)).toMatchObject({
      valid: false,
      code: "RATE_LIMITED",
      s3Error: "SlowDown",
    });
  });

  it("signed by an access key id nobody issued: the same", async () => {
    const valid: Key = await api("POST", `/repo/${repoId}/apikey`, {
      name: "Behind the same NAT",
      accessType: "READ",
    });
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    const unknownId = `FBAK${Array.from({ length: 16 }, () => alphabet[randomInt(36)]).join("")}`;
    const forged = await signedGet({ key: unknownId, secret: valid.secret });
    const clientIp = newAddress();
    await withinOneWindow();

    const codes: string[] = [];
    for (let i = 0; i < 105; i++) codes.push((await verify("s3", forged, clientIp)).code);
    expect(new Set(codes.slice(0, LIMIT))).toEqual(new Set(["INVALID_ACCESS_KEY"]));
    expect(new Set(codes.slice(LIMIT))).toEqual(new Set(["RATE_LIMITED"]));

    expect((await verify("s3", await signedGet(valid), clientIp)).code).toBe("VALID");
    expect((await verify("s3", forged, clientIp)).code).toBe("RATE_LIMITED");
  });

  it("with a deleted AI key's secret: its failures become RATE_LIMITED, a real AI secret from it is still VALID", async () => {
    const deleted: Key = await api("POST", `/repo/${repoId}/ai/apikey`, {
      name: "Old assistant",
      aiType: "OPENAI",
    });
    const valid: Key = await api("POST", `/repo/${repoId}/ai/apikey`, {
      name: "Assistant",
      aiType: "ANTHROPIC",
    });
    await api("DELETE", `/repo/${repoId}/ai/apikey/${deleted.id}`);
    const clientIp = newAddress();
    await withinOneWindow();

    const codes: string[] = [];
    for (let i = 0; i < 105; i++) {
      codes.push((await verify("ai", { secret: deleted.secret }, clientIp)).code);
    }
    expect(new Set(codes.slice(0, LIMIT))).toEqual(new Set(["REVOKED"]));
    expect(new Set(codes.slice(LIMIT))).toEqual(new Set(["RATE_LIMITED"]));

    expect(await verify("ai", { secret: valid.secret }, clientIp)).toMatchObject({
      valid: true,
      code: "VALID",
      keyId: valid.id,
    });
    expect((await verify("ai", { secret: deleted.secret }, clientIp)).code).toBe("RATE_LIMITED");
  });
});
