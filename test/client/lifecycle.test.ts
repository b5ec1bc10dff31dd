import { describe, expect, it } from "vitest";
import { team } from "../support/api";
import { clientFor } from "./support";

describe("client key lifecycle", () => {
  it("rolls a storage key with a grace period, and disables it", async () => {
    const { admin, repoId } = await team();
    const { client, sent } = await clientFor(admin);
    const created = await client.apiKeys.create(repoId, { name: "CI", access: "READ" });
    const rolled = await client.apiKeys.roll(repoId, created.id, { gracePeriodSeconds: 60 });
    expect(rolled).toMatchObject({ id: created.id, key: created.key });
    expect(rolled.secret).not.toBe(created.secret);
    expect(rolled.previousSecretExpiresAt).not.toBeNull();
    await client.apiKeys.roll(repoId, created.id);
    expect(sent.at(-1)?.body).toBe("{}");
    await client.apiKeys.update(repoId, created.id, { status: "INACTIVE" });
    const [key] = (await client.apiKeys.list(repoId)).keys;
    expect(key).toMatchObject({ status: "INACTIVE", previousSecretExpiresAt: null });
  });

  it("pages with list(repoId, {limit, cursor}) and walks every page with all()", async () => {
    const { admin, repoId } = await team();
    const { client, sent } = await clientFor(admin);
    const ids = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await client.aiApiKeys.create(repoId, { name: `k${i}`, aiType: "OTHER" })).id);
    }
    const page = await client.aiApiKeys.list(repoId, { limit: 2 });
    expect(page.apiKeys).toHaveLength(2);
    expect(page.nextCursor).toEqual(expect.any(String));
    expect(sent.at(-1)?.url).toMatch(/\?limit=2$/);

    const before = sent.length;
    const walked: string[] = [];
    for await (const key of client.aiApiKeys.all(repoId, { pageSize: 2 })) walked.push(key.id);
    expect(walked.sort()).toEqual(ids.sort());
    expect(sent.length - before).toBe(3);

    const storage = [];
    for await (const key of client.apiKeys.all(repoId)) storage.push(key);
    expect(storage).toEqual([]);
  });
});
