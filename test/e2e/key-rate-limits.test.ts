import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { beforeAll, describe, expect, it } from "vitest";
import { baseUrl, callApi, newUser, tokenFor } from "./support/http";
import { credentialsOf, type StorageKey, s3ClientFor, s3ErrorOf } from "./support/s3-gateway";
import { capturingS3Client } from "./support/s3-signing";

/**
 * Per-key rate limits against `npm run dev` (docs/rate-limits.md): a key with ratelimit
 * {limit: 5, periodSeconds: 60} is VALID 5 times, then RATE_LIMITED even with a correct
 * signature, counted by its Durable Object under wrangler dev: through POST /verify/s3, through
 * the S3 gateway with the AWS SDK (SlowDown, 503, Retry-After) and through POST /verify/ai.
 */

const LIMIT = { limit: 5, periodSeconds: 60 };

let userToken: string;
let gatewayToken: string;
let repoId: string;

const api = (method: string, path: string, body?: unknown) =>
  callApi(userToken, method, path, body);

async function verify(kind: "s3" | "ai", body: object) {
  const response = await fetch(`${baseUrl}/verify/${kind}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${gatewayToken}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return JSON.parse(text);
}

/**
 * The counter's windows are aligned to the clock (60 s): waits, if need be, so that the next
 * 20 s fall inside one window and a count of 6 cannot straddle a reset.
 */
async function withinOneWindow() {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 20_000) await new Promise((resolve) => setTimeout(resolve, left + 200));
}

const newLimitedKey = (): Promise<StorageKey> =>
  api("POST", `/repo/${repoId}/apikey`, {
    name: "Runaway CI",
    accessType: "WRITE",
    ratelimit: LIMIT,
  });

beforeAll(async () => {
  userToken = await tokenFor(newUser("ratelimit-owner"));
  gatewayToken = await tokenFor("e2e-ratelimit-gateway", { scope: "keys:verify" });
  const workspaceId = (await api("POST", "/workspace", { name: "Rate limit team" })).id;
  repoId = (await api("POST", "/repo", { name: "limited", workspaceId })).id;
});

describe("a storage key with ratelimit {limit: 5, periodSeconds: 60}", { timeout: 60_000 }, () => {
  it("is listed with its limit", async () => {
    const key = await newLimitedKey();
    const { keys } = await api("GET", `/repo/${repoId}/apikey`);
    expect(keys.find((listed: { id: string }) => listed.id === key.id)).toMatchObject({
      ratelimit: LIMIT,
    });
  });

  it("answers VALID 5 times through POST /verify/s3, then RATE_LIMITED with remaining 0", async () => {
    const key = await newLimitedKey();
    const signed = () =>
      capturingS3Client(credentialsOf(key)).signed(
        new GetObjectCommand({ Bucket: repoId, Key: "photos/cat.jpg" }),
      );
    await withinOneWindow();
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await verify("s3", await signed()));
    const windowEnd = (Math.floor(Date.now() / 60_000) + 1) * 60_000;
    expect(answers.slice(0, 5).map((answer) => [answer.code, answer.ratelimit.remaining])).toEqual([
      ["VALID", 4],
      ["VALID", 3],
      ["VALID", 2],
      ["VALID", 1],
      ["VALID", 0],
    ]);
    expect(answers[5]).toEqual({
      success: true,
      valid: false,
      code: "RATE_LIMITED",
      s3Error: "SlowDown",
      message: "The key's rate limit is reached: 5 per 60 s",
      ratelimit: { limit: 5, remaining: 0, reset: windowEnd },
    });
    // A forged signature of the same key is still told apart, and takes nothing.
    const forged = await capturingS3Client({
      accessKeyId: key.key,
      secretAccessKey: `${key.secret.slice(0, -1)}x`,
    }).signed(new GetObjectCommand({ Bucket: repoId, Key: "photos/cat.jpg" }));
    expect((await verify("s3", forged)).code).toBe("SIGNATURE_MISMATCH");
  });

  it("is served 5 times by the S3 gateway with the AWS SDK, then SlowDown 503 with Retry-After", async () => {
    const key = await newLimitedKey();
    const { client } = s3ClientFor(credentialsOf(key));
    // The raw answer's headers, before the SDK turns an error into an exception.
    let lastResponseHeaders: Record<string, string> = {};
    client.middlewareStack.addRelativeTo(
      (next: any) => async (args: any) => {
        const out = await next(args);
        lastResponseHeaders = out.response.headers;
        return out;
      },
      { relation: "after", toMiddleware: "deserializerMiddleware", name: "keepHeaders" },
    );
    await withinOneWindow();
    await client.send(new PutObjectCommand({ Bucket: repoId, Key: "burst.txt", Body: "burst" }));
    for (let i = 0; i < 4; i++) {
      const got = await client.send(new GetObjectCommand({ Bucket: repoId, Key: "burst.txt" }));
      expect(await got.Body?.transformToString()).toBe("burst");
    }
    expect(
      await s3ErrorOf(client.send(new GetObjectCommand({ Bucket: repoId, Key: "burst.txt" }))),
    ).toEqual({ code: "SlowDown", status: 503 });
    // The SDK's SlowDown came with Retry-After: whole seconds to the window's end.
    const retryAfter = Number(lastResponseHeaders["retry-after"]);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
  });

  it("serves again at once when the limit is removed (ratelimit: null)", async () => {
    const key = await newLimitedKey();
    const { client } = s3ClientFor(credentialsOf(key));
    await withinOneWindow();
    await client.send(new PutObjectCommand({ Bucket: repoId, Key: "freed.txt", Body: "x" }));
    for (let i = 0; i < 4; i++) {
      await client.send(new GetObjectCommand({ Bucket: repoId, Key: "freed.txt" }));
    }
    expect(
      await s3ErrorOf(client.send(new GetObjectCommand({ Bucket: repoId, Key: "freed.txt" }))),
    ).toEqual({ code: "SlowDown", status: 503 });
    await api("PUT", `/repo/${repoId}/apikey/${key.id}`, { ratelimit: null });
    // Other isolates may remember the row for VERIFY_CACHE_TTL_SECONDS (10 s under npm run dev).
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        await client.send(new GetObjectCommand({ Bucket: repoId, Key: "freed.txt" }));
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  });
});

describe("an AI key with ratelimit {limit: 5, periodSeconds: 60}", { timeout: 60_000 }, () => {
  it("answers VALID 5 times through POST /verify/ai, then RATE_LIMITED", async () => {
    const key = await api("POST", `/repo/${repoId}/ai/apikey`, {
      name: "Chat bot",
      aiType: "OPENAI",
      ratelimit: LIMIT,
    });
    await withinOneWindow();
    const codes: string[] = [];
    for (let i = 0; i < 6; i++) codes.push((await verify("ai", { secret: key.secret })).code);
    expect(codes).toEqual(["VALID", "VALID", "VALID", "VALID", "VALID", "RATE_LIMITED"]);
  });
});
