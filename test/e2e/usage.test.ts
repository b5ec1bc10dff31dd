import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { beforeAll, describe, expect, it } from "vitest";
import { baseUrl, callApi, newUser, tokenFor } from "./support/http";
import { credentialsOf, type StorageKey, s3ClientFor, s3ErrorOf } from "./support/s3-gateway";

/**
 * Usage analytics over `npm run dev`: a burst through the S3 gateway (AWS SDK) and through
 * POST /verify/ai, then the usage API shows exactly those counts once the recorder's batched
 * write lands (polled with a deadline, never a fixed sleep).
 */

let token: string;
let repoId: string;
let workspaceId: string;

beforeAll(async () => {
  token = await tokenFor(newUser("usage-owner"));
  workspaceId = (await callApi(token, "POST", "/workspace", { name: "usage team" })).id;
  repoId = (await callApi(token, "POST", "/repo", { name: "usage", workspaceId })).id;
});

/** Polls `read` until `done` holds of it or `deadlineMs` passes; its last value either way. */
async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  deadlineMs = 20_000,
) {
  const deadline = Date.now() + deadlineMs;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    value = await read();
  }
  return value;
}

const minutesOf = (path: string) => () =>
  callApi(
    token,
    "GET",
    `${path}?from=${new Date(Date.now() - 3_600_000).toISOString()}&granularity=minute`,
  );

describe("usage over npm run dev", () => {
  it("a burst through the S3 gateway with the AWS SDK shows in the key's usage, exactly", async () => {
    const key: StorageKey = await callApi(token, "POST", `/repo/${repoId}/apikey`, {
      name: "burst",
      accessType: "WRITE",
    });
    const s3 = s3ClientFor(credentialsOf(key));
    for (let i = 0; i < 5; i++) {
      await s3.client.send(new PutObjectCommand({ Bucket: repoId, Key: `burst/${i}`, Body: "x" }));
    }
    for (let i = 0; i < 3; i++) {
      await s3.client.send(new GetObjectCommand({ Bucket: repoId, Key: `burst/${i}` }));
    }
    const wrong = s3ClientFor({ ...credentialsOf(key), secretAccessKey: "w".repeat(40) });
    const refused = await s3ErrorOf(
      wrong.client.send(new GetObjectCommand({ Bucket: repoId, Key: "burst/0" })),
    );
    expect(refused.code).toBe("SignatureDoesNotMatch");
    const attempts = wrong.sent.length;

    const usage = await eventually(
      minutesOf(`/repo/${repoId}/apikey/${key.id}/usage`),
      (u) => u.totals.valid >= 8 && (u.totals.refused.SIGNATURE_MISMATCH ?? 0) >= attempts,
    );
    expect(usage.totals).toEqual({
      valid: 8,
      refused: { SIGNATURE_MISMATCH: attempts },
      tokens: { input: 0, output: 0 },
    });

    const listed = await callApi(token, "GET", `/repo/${repoId}/apikey`);
    expect(listed.keys.find((k: { id: string }) => k.id === key.id).usage24h).toBe(8);
  });

  it("a burst through /verify/ai shows in the AI key's usage and the repo's busiest keys", async () => {
    const key = await callApi(token, "POST", `/repo/${repoId}/ai/apikey`, {
      name: "ai burst",
      aiType: "OPENAI",
    });
    const gateway = await tokenFor(`usage-gateway-${newUser()}`, { scope: "keys:verify" });
    for (let i = 0; i < 12; i++) {
      const answer = await callApi(gateway, "POST", "/verify/ai", { secret: key.secret });
      expect(answer.code).toBe("VALID");
    }
    const usage = await eventually(
      minutesOf(`/repo/${repoId}/ai/apikey/${key.id}/usage`),
      (u) => u.totals.valid >= 12,
    );
    expect(usage.totals).toEqual({ valid: 12, refused: {}, tokens: { input: 0, output: 0 } });
    const repo = await callApi(token, "GET", `/repo/${repoId}/usage`);
    expect(repo.keys[0]).toMatchObject({ id: key.id, kind: "ai", valid: 12, total: 12 });
  });

  it("refusals that name no key count under the gateway that asked", async () => {
    const subject = `usage-gateway-${newUser()}`;
    const gateway = await tokenFor(subject, { scope: "keys:verify" });
    // Well-formed (the checksum is public) but issued to nobody.
    const forged = await fetch(`${baseUrl}/verify/ai`, {
      method: "POST",
      headers: { Authorization: `Bearer ${gateway}`, "Content-Type": "application/json" },
      body: JSON.stringify({ secret: "fbai_sk_nope" }),
    });
    expect(forged.status).toBe(200);
    expect((await forged.json()).code).toBe("INVALID");
    const seen = await eventually(
      () => callApi(token, "GET", `/workspace/${workspaceId}/usage/unattributed`),
      (u) => u.callers.some((c: { caller: string }) => c.caller === subject),
    );
    expect(seen.callers.find((c: { caller: string }) => c.caller === subject)).toEqual({
      caller: subject,
      kind: "ai",
      transport: "http",
      total: 1,
      refused: { INVALID: 1 },
    });
  });
});
