import { describe, expect, it } from "vitest";
import { call, expectError, team } from "../support/api";
import { createStorageKey, keyRow, unknownId } from "../support/keys";

const update = (as: string, repoId: string, keyId: string, body: unknown) =>
  call("PUT", `/repo/${repoId}/apikey/${keyId}`, { as, body });

describe("PUT /repo/{repoId}/apikey/{apikeyId}", () => {
  it("renames a key and changes its access type", async () => {
    const { admin, repoId } = await team();
    const { id, key } = await createStorageKey(admin, repoId, { name: "old", accessType: "READ" });

    const response = await update(admin, repoId, id, { name: "new", accessType: "WRITE" });
    expect(response.status, response.text).toBe(200);
    expect(response.body).toEqual({ success: true, message: expect.any(String) });

    const listed = await call("GET", `/repo/${repoId}/apikey`, { as: admin });
    expect(listed.body.keys).toEqual([
      expect.objectContaining({ id, key, name: "new", accessType: "WRITE" }),
    ]);
  });

  it("changes only what is sent, and needs at least one field", async () => {
    const { admin, repoId } = await team();
    const { id } = await createStorageKey(admin, repoId, { name: "kept", accessType: "READ" });

    expectError(await update(admin, repoId, id, {}), 400, /at least one/);
    expect(await keyRow("storage_keys", id)).toMatchObject({ name: "kept", access_type: "READ" });
    expect((await update(admin, repoId, id, { name: "only the name" })).status).toBe(200);
    expect(await keyRow("storage_keys", id)).toMatchObject({
      name: "only the name",
      access_type: "READ",
    });
    expect((await update(admin, repoId, id, { accessType: "WRITE" })).status).toBe(200);
    expect(await keyRow("storage_keys", id)).toMatchObject({
      name: "only the name",
      access_type: "WRITE",
      status: "ACTIVE",
    });
  });

  it("is 404 for an unknown key", async () => {
    const { admin, repoId } = await team();
    expectError(await update(admin, repoId, unknownId(), { name: "x", accessType: "READ" }), 404);
  });

  it("is 404 for a revoked key, which stays revoked and unchanged", async () => {
    const { admin, repoId } = await team();
    const { id } = await createStorageKey(admin, repoId, { name: "gone" });
    await call("DELETE", `/repo/${repoId}/apikey/${id}`, { as: admin });

    expectError(await update(admin, repoId, id, { name: "back", accessType: "ADMIN" }), 404);
    const row = await keyRow("storage_keys", id);
    expect(row).toMatchObject({ name: "gone", access_type: "READ" });
    expect(row?.deleted_at).not.toBeNull();
  });

  it("is 404 for another repo's key, even to an admin of both, and leaves that key untouched", async () => {
    const { admin, workspaceId, repoId } = await team();
    const otherRepo = await call("POST", "/repo", {
      as: admin,
      body: { name: "other", workspaceId },
    });
    const theirs = await createStorageKey(admin, otherRepo.body.id, {
      name: "theirs",
      accessType: "READ",
    });
    const before = await keyRow("storage_keys", theirs.id);

    const response = await update(admin, repoId, theirs.id, {
      name: "hijacked",
      accessType: "ADMIN",
    });
    expectError(response, 404);
    expect(await keyRow("storage_keys", theirs.id)).toEqual(before);
  });
});
