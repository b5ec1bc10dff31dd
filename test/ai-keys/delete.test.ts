import { describe, expect, it } from "vitest";
import { call, expectError, team } from "../support/api";
import { createAiKey, keyRow, unknownId } from "../support/keys";

const remove = (as: string, repoId: string, keyId: string) =>
  call("DELETE", `/repo/${repoId}/ai/apikey/${keyId}`, { as });

describe("DELETE /repo/{repoId}/ai/apikey/{apikeyId}", () => {
  it("soft-deletes: 200, gone from the list, the row and its sealed secret kept with deletedAt", async () => {
    const { admin, writer, repoId } = await team();
    const { id, key } = await createAiKey(admin, repoId);
    const before = await keyRow("ai_keys", id);

    const response = await remove(writer, repoId, id);
    expect(response.status, response.text).toBe(200);
    expect(response.body).toEqual({ success: true, message: expect.any(String) });

    const listed = await call("GET", `/repo/${repoId}/ai/apikey`, { as: admin });
    expect(listed.body.apiKeys).toEqual([]);

    const row = await keyRow("ai_keys", id);
    expect(row).toMatchObject({
      key,
      name: before?.name,
      sealed_secret: before?.sealed_secret,
      deleted_by: writer,
    });
    expect(row?.sealed_secret).toMatch(/^aesgcm\./);
    expect(new Date(row?.deleted_at).toISOString()).toBe(row?.deleted_at);
  });

  it("is 404 the second time, and keeps the first deletion's record", async () => {
    const { admin, repoId } = await team();
    const { id } = await createAiKey(admin, repoId);
    expect((await remove(admin, repoId, id)).status).toBe(200);
    const first = await keyRow("ai_keys", id);

    expectError(await remove(admin, repoId, id), 404);
    expect(await keyRow("ai_keys", id)).toEqual(first);
  });

  it("is 404 for an unknown key", async () => {
    const { admin, repoId } = await team();
    expectError(await remove(admin, repoId, unknownId()), 404);
  });

  it("is 404 for another repo's key, which stays active", async () => {
    const { admin, workspaceId, repoId } = await team();
    const otherRepo = await call("POST", "/repo", {
      as: admin,
      body: { name: "other", workspaceId },
    });
    const theirs = await createAiKey(admin, otherRepo.body.id);
    const before = await keyRow("ai_keys", theirs.id);

    expectError(await remove(admin, repoId, theirs.id), 404);
    expect(await keyRow("ai_keys", theirs.id)).toEqual(before);
  });

  it("does not touch a storage key with the same id space", async () => {
    const { admin, repoId } = await team();
    const storage = await call("POST", `/repo/${repoId}/apikey`, {
      as: admin,
      body: { name: "s3", accessType: "READ" },
    });
    expectError(await remove(admin, repoId, storage.body.id), 404);
    expect((await keyRow("storage_keys", storage.body.id))?.deleted_at).toBeNull();
  });
});
