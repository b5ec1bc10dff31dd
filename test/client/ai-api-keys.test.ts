import { describe, expect, it } from "vitest";
import { team } from "../support/api";
import { clientFor } from "./support";

describe("client.aiApiKeys", () => {
  it("creates (201), lists, renames and deletes an AI key", async () => {
    const { writer, repoId } = await team();
    const { client } = await clientFor(writer);

    const created = await client.aiApiKeys.create(repoId, { name: "Gateway", aiType: "OPENAI" });
    expect(created).toMatchObject({ success: true, id: expect.any(String) });
    expect(created.key).toMatch(/^FB_AI_/);
    expect(created.secret.length).toBeGreaterThan(0);

    const listed = await client.aiApiKeys.list(repoId);
    expect(listed.apiKeys).toEqual([
      expect.objectContaining({
        id: created.id,
        name: "Gateway",
        repoId,
        key: created.key,
        aiType: "OPENAI",
        deletedAt: null,
      }),
    ]);

    expect(await client.aiApiKeys.update(repoId, created.id, { name: "Renamed" })).toEqual({
      success: true,
      message: expect.any(String),
    });
    expect((await client.aiApiKeys.list(repoId)).apiKeys[0]?.name).toBe("Renamed");

    expect(await client.aiApiKeys.delete(repoId, created.id)).toEqual({
      success: true,
      message: expect.any(String),
    });
    expect((await client.aiApiKeys.list(repoId)).apiKeys).toEqual([]);
  });
});
