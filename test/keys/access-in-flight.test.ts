import { describe, expect, it } from "vitest";
import { call, expectError, team } from "../support/api";
import {
  callWith,
  createAiKey,
  createStorageKey,
  dbWithConcurrentWrite,
  keyRow,
} from "../support/keys";

/**
 * A caller's access or the key changes between the handler's read and its write (another
 * request lands in between): the write re-checks both in SQL, changes nothing, and the answer
 * says why as things now stand.
 */
const storage = (repoId: string) => `/repo/${repoId}/apikey`;
const ai = (repoId: string) => `/repo/${repoId}/ai/apikey`;

async function setRole(admin: string, workspaceId: string, userId: string, role: string) {
  const response = await call("PUT", `/workspace/${workspaceId}/users/${userId}`, {
    as: admin,
    body: { role },
  });
  expect(response.status, response.text).toBe(200);
}

async function removeMember(admin: string, workspaceId: string, userId: string) {
  const response = await call("DELETE", `/workspace/${workspaceId}/users/${userId}`, {
    as: admin,
  });
  expect(response.status, response.text).toBe(200);
}

describe("storage keys", () => {
  it("a WRITE member demoted to READ while updating changes nothing: 403", async () => {
    const { admin, writer, workspaceId, repoId } = await team();
    const { id } = await createStorageKey(admin, repoId, { name: "ci", accessType: "READ" });
    const db = dbWithConcurrentWrite(() => setRole(admin, workspaceId, writer, "READ"));

    const response = await callWith({ DB: db }, "PUT", `${storage(repoId)}/${id}`, {
      as: writer,
      body: { name: "renamed", accessType: "WRITE" },
    });
    expectError(response, 403, "Insufficient permissions");
    expect(await keyRow("storage_keys", id)).toMatchObject({ name: "ci", access_type: "READ" });
  });

  it("a key whose access level changed under an allowed update is a 409, and unchanged", async () => {
    const { admin, writer, repoId } = await team();
    const { id } = await createStorageKey(admin, repoId, { name: "ci", accessType: "READ" });
    const db = dbWithConcurrentWrite(async () => {
      const raised = await call("PUT", `${storage(repoId)}/${id}`, {
        as: admin,
        body: { name: "ci", accessType: "WRITE" },
      });
      expect(raised.status, raised.text).toBe(200);
    });

    const response = await callWith({ DB: db }, "PUT", `${storage(repoId)}/${id}`, {
      as: writer,
      body: { name: "mine", accessType: "READ" },
    });
    expectError(response, 409, /changed while this request ran/);
    expect(await keyRow("storage_keys", id)).toMatchObject({ name: "ci", access_type: "WRITE" });
  });

  it("a creator removed from the workspace while deleting their key deletes nothing: 403", async () => {
    const { admin, writer, workspaceId, repoId } = await team();
    const { id } = await createStorageKey(writer, repoId);
    const db = dbWithConcurrentWrite(() => removeMember(admin, workspaceId, writer));

    const response = await callWith({ DB: db }, "DELETE", `${storage(repoId)}/${id}`, {
      as: writer,
    });
    expectError(response, 403, "Insufficient permissions");
    expect(await keyRow("storage_keys", id)).toMatchObject({ deleted_at: null });
  });

  it("an ADMIN demoted while deleting someone else's key deletes nothing: 403", async () => {
    const { admin, writer, workspaceId, repoId } = await team();
    // A second ADMIN, so the first can be demoted (the last ADMIN cannot).
    await setRole(admin, workspaceId, writer, "ADMIN");
    const { id } = await createStorageKey(admin, repoId);
    const db = dbWithConcurrentWrite(() => setRole(admin, workspaceId, writer, "WRITE"));

    const response = await callWith({ DB: db }, "DELETE", `${storage(repoId)}/${id}`, {
      as: writer,
    });
    expectError(response, 403, "Insufficient permissions");
    expect(await keyRow("storage_keys", id)).toMatchObject({ deleted_at: null });
  });

  it("a key revoked while it was being deleted is a 404", async () => {
    const { admin, repoId } = await team();
    const { id } = await createStorageKey(admin, repoId);
    const db = dbWithConcurrentWrite(async () => {
      const deleted = await call("DELETE", `${storage(repoId)}/${id}`, { as: admin });
      expect(deleted.status, deleted.text).toBe(200);
    });

    const response = await callWith({ DB: db }, "DELETE", `${storage(repoId)}/${id}`, {
      as: admin,
    });
    expectError(response, 404);
  });
});

describe("AI keys", () => {
  it("a WRITE member demoted to READ while renaming changes nothing: 403", async () => {
    const { admin, writer, workspaceId, repoId } = await team();
    const { id } = await createAiKey(admin, repoId, { name: "gateway" });
    const db = dbWithConcurrentWrite(() => setRole(admin, workspaceId, writer, "READ"));

    const response = await callWith({ DB: db }, "PUT", `${ai(repoId)}/${id}`, {
      as: writer,
      body: { name: "renamed" },
    });
    expectError(response, 403, "Insufficient permissions");
    expect(await keyRow("ai_keys", id)).toMatchObject({ name: "gateway" });
  });

  it("a WRITE member removed while deleting deletes nothing: 403", async () => {
    const { admin, writer, workspaceId, repoId } = await team();
    const { id } = await createAiKey(admin, repoId);
    const db = dbWithConcurrentWrite(() => removeMember(admin, workspaceId, writer));

    const response = await callWith({ DB: db }, "DELETE", `${ai(repoId)}/${id}`, { as: writer });
    expectError(response, 403, "Insufficient permissions");
    expect(await keyRow("ai_keys", id)).toMatchObject({ deleted_at: null });
  });
});
