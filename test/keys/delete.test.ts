import { describe, expect, it } from "vitest";
import { call, expectError, team } from "../support/api";
import { createStorageKey, keyRow, unknownId } from "../support/keys";

const remove = (as: string, repoId: string, keyId: string) =>
  call("DELETE", `/repo/${repoId}/apikey/${keyId}`, { as });

describe("DELETE /repo/{repoId}/apikey/{apikeyId}", () => {
  it("revokes the key: 200, gone from the list, the row kept with deletedAt for audit", async () => {
    const { admin, repoId } = await team();
    const { id, key } = await createStorageKey(admin, repoId);
    const sealed = (await keyRow("storage_keys", id))?.sealed_secret;

    const response = await remove(admin, repoId, id);
    expect(response.status, response.text).toBe(200);
    expect(response.body).toEqual({ success: true, message: expect.any(String) });

    const listed = await call("GET", `/repo/${repoId}/apikey`, { as: admin });
    expect(listed.body.keys).toEqual([]);

    const row = await keyRow("storage_keys", id);
    expect(row).toMatchObject({ key, sealed_secret: sealed, deleted_by: admin });
    expect(new Date(row?.deleted_at).toISOString()).toBe(row?.deleted_at);
  });

  it("is 404 the second time, and keeps the first deletion's record", async () => {
    const { admin, writer, repoId } = await team();
    const { id } = await createStorageKey(writer, repoId);
    expect((await remove(writer, repoId, id)).status).toBe(200);
    const first = await keyRow("storage_keys", id);

    expectError(await remove(admin, repoId, id), 404);
    expect(await keyRow("storage_keys", id)).toEqual(first);
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
    const theirs = await createStorageKey(admin, otherRepo.body.id);
    const before = await keyRow("storage_keys", theirs.id);

    expectError(await remove(admin, repoId, theirs.id), 404);
    expect(await keyRow("storage_keys", theirs.id)).toEqual(before);
    const listed = await call("GET", `/repo/${otherRepo.body.id}/apikey`, { as: admin });
    expect(listed.body.keys.map((k: { id: string }) => k.id)).toEqual([theirs.id]);
  });
});
