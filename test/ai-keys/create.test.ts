import { afterEach, describe, expect, it, vi } from "vitest";
import { AI_SECRET_PREFIX, isWellFormedAiSecret } from "../../src/crypto/credentials";
import { Keyring } from "../../src/crypto/seal";
import { type ApiResponse, call, expectError, team } from "../support/api";
import { TEST_BINDINGS } from "../support/bindings";
import {
  allKeyRows,
  callWith,
  countKeyRows,
  createAiKey,
  keyRow,
  recordingAuditQueue,
} from "../support/keys";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("POST /repo/{repoId}/ai/apikey", () => {
  it("returns 201 {success, id, key, secret}: an FB_AI_ key and a checksummed secret, never cached", async () => {
    const { writer, repoId } = await team();
    const response = await call("POST", `/repo/${repoId}/ai/apikey`, {
      as: writer,
      body: { name: "Gateway", aiType: "ANTHROPIC" },
    });

    expect(response.status, response.text).toBe(201);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    expect(Object.keys(response.body).sort()).toEqual(["id", "key", "secret", "success"]);
    expect(response.body.success).toBe(true);
    expect(response.body.key).toMatch(/^FB_AI_[0-9A-Za-z]{16,}$/);
    expect(response.body.secret.startsWith(AI_SECRET_PREFIX)).toBe(true);
    expect(isWellFormedAiSecret(response.body.secret)).toBe(true);
  });

  it("stores the key with its name, type and creator", async () => {
    const { admin, repoId } = await team();
    const { id, key } = await createAiKey(admin, repoId, { name: " Claude ", aiType: "ANTHROPIC" });
    expect(await keyRow("ai_keys", id)).toMatchObject({
      repo_id: repoId,
      name: "Claude",
      ai_type: "ANTHROPIC",
      key,
      created_by: admin,
      deleted_at: null,
    });
  });

  it("accepts every documented aiType", async () => {
    const { admin, repoId } = await team();
    for (const aiType of ["OPENAI", "GOOGLE", "ANTHROPIC", "AWS", "OTHER"]) {
      await createAiKey(admin, repoId, { name: aiType, aiType });
    }
    expect(await countKeyRows("ai_keys", repoId)).toBe(5);
  });

  it("seals the secret under the AI kind: it opens to the returned secret only as this row's AI key", async () => {
    const { admin, repoId } = await team();
    const { id, secret } = await createAiKey(admin, repoId);
    const sealed = (await keyRow("ai_keys", id))?.sealed_secret as string;

    expect(sealed).toMatch(/^aesgcm\.t2\./);
    expect(sealed).not.toContain(secret);
    const keyring = Keyring.parse(TEST_BINDINGS.ENCRYPTION_KEYS);
    expect(await keyring.open(sealed, { kind: "ai", repoId, keyId: id })).toBe(secret);
    await expect(keyring.open(sealed, { kind: "storage", repoId, keyId: id })).rejects.toThrow();
    await expect(
      keyring.open(sealed, { kind: "ai", repoId, keyId: crypto.randomUUID() }),
    ).rejects.toThrow();
  });

  it("keeps the secret out of audit events and logs", async () => {
    const { admin, repoId } = await team();
    const { queue, sent } = recordingAuditQueue();
    const logged: unknown[] = [];
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args) => logged.push(args));
    }

    const response = await callWith({ AUDIT: queue }, "POST", `/repo/${repoId}/ai/apikey`, {
      as: admin,
      body: { name: "Audited", aiType: "OPENAI" },
    });
    expect(response.status, response.text).toBe(201);
    expect(sent).toEqual([expect.objectContaining({ type: "ai_apikey.created" })]);
    expect(JSON.stringify(sent)).not.toContain(response.body.secret);
    expect(JSON.stringify(sent)).not.toContain(AI_SECRET_PREFIX);
    expect(JSON.stringify(logged)).not.toContain(response.body.secret);
  });

  it("refuses keys over the AI quota with 409 QUOTA_EXCEEDED", async () => {
    const { admin, repoId } = await team();
    const create = () =>
      callWith({ AI_KEY_QUOTA: "1" }, "POST", `/repo/${repoId}/ai/apikey`, {
        as: admin,
        body: { name: "k", aiType: "OTHER" },
      });
    expect((await create()).status).toBe(201);
    const over = await create();
    expectError(over, 409);
    expect(over.body.code).toBe("QUOTA_EXCEEDED");
    expect(await countKeyRows("ai_keys", repoId)).toBe(1);
  });
});

describe("creating an AI key with bad input", () => {
  async function expectRefusedWithoutWriting(send: () => Promise<ApiResponse>) {
    const before = await allKeyRows("ai_keys");
    expectError(await send(), 400);
    expect(await allKeyRows("ai_keys")).toEqual(before);
  }

  const cases: [string, unknown][] = [
    ["an unknown aiType", { name: "k", aiType: "MISTRAL" }],
    ["a lower-case aiType", { name: "k", aiType: "openai" }],
    ["a missing aiType", { name: "k" }],
    ["a missing name", { aiType: "OPENAI" }],
    ["an empty name", { name: "", aiType: "OPENAI" }],
    ["a 129-character name", { name: "n".repeat(129), aiType: "OPENAI" }],
    ["a key chosen by the caller", { name: "k", aiType: "OPENAI", key: "FB_AI_mine" }],
    ["a secret chosen by the caller", { name: "k", aiType: "OPENAI", secret: "fbai_sk_x" }],
    ["a body that is not JSON", '{"name": '],
  ];

  for (const [what, body] of cases) {
    it(`refuses ${what} with 400`, async () => {
      const { admin, repoId } = await team();
      await expectRefusedWithoutWriting(() =>
        call("POST", `/repo/${repoId}/ai/apikey`, {
          as: admin,
          body: typeof body === "string" ? body : JSON.stringify(body),
        }),
      );
    });
  }

  it("refuses a repoId that is not a UUID with 400", async () => {
    const { admin } = await team();
    await expectRefusedWithoutWriting(() =>
      call("POST", "/repo/not-a-uuid/ai/apikey", {
        as: admin,
        body: { name: "k", aiType: "OPENAI" },
      }),
    );
  });
});
