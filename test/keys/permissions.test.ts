import { describe, expect, it } from "vitest";
import { type ApiResponse, addMember, call, expectError, newUser, team } from "../support/api";
import {
  callWith,
  countKeyRows,
  createStorageKey,
  dbWithConcurrentWrite,
  keyRow,
  unknownId,
} from "../support/keys";

const keys = (repoId: string) => `/repo/${repoId}/apikey`;

function expectForbidden(response: ApiResponse) {
  expectError(response, 403, "Insufficient permissions");
}

/** A 403 body without its per-request id: what a caller can compare between two refusals. */
const refusal = (response: ApiResponse) => {
  const { requestId: _, ...rest } = response.body;
  return { status: response.status, body: rest };
};

describe("listing storage keys", () => {
  it("is open to every member: READ, WRITE and ADMIN", async () => {
    const { admin, writer, reader, repoId } = await team();
    const { id } = await createStorageKey(admin, repoId);
    for (const member of [admin, writer, reader]) {
      const response = await call("GET", keys(repoId), { as: member });
      expect(response.status, response.text).toBe(200);
      expect(response.body.keys.map((k: { id: string }) => k.id)).toEqual([id]);
    }
  });
});

describe("creating storage keys", () => {
  it("is refused to READ members, whatever the access type", async () => {
    const { reader, repoId } = await team();
    for (const accessType of ["READ", "WRITE", "ADMIN"]) {
      const response = await call("POST", keys(repoId), {
        as: reader,
        body: { name: "mine", accessType },
      });
      expectForbidden(response);
    }
    expect(await countKeyRows("storage_keys", repoId)).toBe(0);
  });

  it("lets WRITE members create READ and WRITE keys but not ADMIN ones", async () => {
    const { writer, repoId } = await team();
    await createStorageKey(writer, repoId, { accessType: "READ" });
    await createStorageKey(writer, repoId, { accessType: "WRITE" });
    const admin = await call("POST", keys(repoId), {
      as: writer,
      body: { name: "too strong", accessType: "ADMIN" },
    });
    expectForbidden(admin);
    expect(await countKeyRows("storage_keys", repoId)).toBe(2);
  });

  it("lets ADMIN members create ADMIN keys", async () => {
    const { admin, repoId } = await team();
    await createStorageKey(admin, repoId, { accessType: "ADMIN" });
  });
});

describe("updating storage keys", () => {
  it("is refused to READ members", async () => {
    const { admin, reader, repoId } = await team();
    const { id } = await createStorageKey(admin, repoId, { name: "kept", accessType: "READ" });
    expectForbidden(
      await call("PUT", `${keys(repoId)}/${id}`, {
        as: reader,
        body: { name: "renamed", accessType: "READ" },
      }),
    );
    expect(await keyRow("storage_keys", id)).toMatchObject({ name: "kept" });
  });

  it("lets WRITE members change READ and WRITE keys within their own level", async () => {
    const { admin, writer, repoId } = await team();
    const { id } = await createStorageKey(admin, repoId, { accessType: "READ" });
    const response = await call("PUT", `${keys(repoId)}/${id}`, {
      as: writer,
      body: { name: "raised", accessType: "WRITE" },
    });
    expect(response.status, response.text).toBe(200);
    expect(await keyRow("storage_keys", id)).toMatchObject({
      name: "raised",
      access_type: "WRITE",
    });
  });

  it("does not let a WRITE member raise a key to ADMIN", async () => {
    const { writer, repoId } = await team();
    const { id } = await createStorageKey(writer, repoId, { name: "mine", accessType: "WRITE" });
    expectForbidden(
      await call("PUT", `${keys(repoId)}/${id}`, {
        as: writer,
        body: { name: "mine", accessType: "ADMIN" },
      }),
    );
    expect(await keyRow("storage_keys", id)).toMatchObject({ access_type: "WRITE" });
  });

  it("does not let a WRITE member rename or lower an ADMIN key", async () => {
    const { admin, writer, repoId } = await team();
    const { id } = await createStorageKey(admin, repoId, { name: "root", accessType: "ADMIN" });
    for (const body of [
      { name: "renamed", accessType: "ADMIN" },
      { name: "root", accessType: "READ" },
    ]) {
      expectForbidden(await call("PUT", `${keys(repoId)}/${id}`, { as: writer, body }));
    }
    expect(await keyRow("storage_keys", id)).toMatchObject({ name: "root", access_type: "ADMIN" });
  });

  it("does not let a WRITE member change a key an ADMIN raised to ADMIN while the request ran", async () => {
    const { admin, writer, repoId } = await team();
    const { id } = await createStorageKey(admin, repoId, { name: "ci", accessType: "READ" });
    // The writer's request reads the key as READ; before it writes, an admin raises it.
    const db = dbWithConcurrentWrite(async () => {
      const raised = await call("PUT", `${keys(repoId)}/${id}`, {
        as: admin,
        body: { name: "root", accessType: "ADMIN" },
      });
      expect(raised.status, raised.text).toBe(200);
    });

    const response = await callWith({ DB: db }, "PUT", `${keys(repoId)}/${id}`, {
      as: writer,
      body: { name: "lowered", accessType: "READ" },
    });
    // Asked again after the write refused it: an ADMIN key is now beyond the writer.
    expectForbidden(response);
    expect(await keyRow("storage_keys", id)).toMatchObject({ name: "root", access_type: "ADMIN" });
  });

  it("lets ADMIN members raise and lower any key", async () => {
    const { admin, writer, repoId } = await team();
    const { id } = await createStorageKey(writer, repoId, { accessType: "READ" });
    for (const accessType of ["ADMIN", "READ"]) {
      const response = await call("PUT", `${keys(repoId)}/${id}`, {
        as: admin,
        body: { name: "any", accessType },
      });
      expect(response.status, response.text).toBe(200);
      expect(await keyRow("storage_keys", id)).toMatchObject({ access_type: accessType });
    }
  });
});

describe("deleting storage keys", () => {
  it("lets the member who created the key delete it", async () => {
    const { writer, repoId } = await team();
    const { id } = await createStorageKey(writer, repoId);
    const response = await call("DELETE", `${keys(repoId)}/${id}`, { as: writer });
    expect(response.status, response.text).toBe(200);
  });

  it("lets an ADMIN delete anyone's key", async () => {
    const { admin, writer, repoId } = await team();
    const { id } = await createStorageKey(writer, repoId);
    const response = await call("DELETE", `${keys(repoId)}/${id}`, { as: admin });
    expect(response.status, response.text).toBe(200);
  });

  it("does not let a WRITE member delete another member's key", async () => {
    const { admin, writer, workspaceId, repoId } = await team();
    const otherWriter = newUser("writer");
    await addMember(admin, workspaceId, otherWriter, "WRITE");
    const theirs = await createStorageKey(otherWriter, repoId);
    const admins = await createStorageKey(admin, repoId);

    for (const { id } of [theirs, admins]) {
      expectForbidden(await call("DELETE", `${keys(repoId)}/${id}`, { as: writer }));
      expect((await keyRow("storage_keys", id))?.deleted_at).toBeNull();
    }
  });

  it("is refused to READ members", async () => {
    const { admin, reader, repoId } = await team();
    const { id } = await createStorageKey(admin, repoId);
    expectForbidden(await call("DELETE", `${keys(repoId)}/${id}`, { as: reader }));
    expect((await keyRow("storage_keys", id))?.deleted_at).toBeNull();
  });
});

describe("outsiders and repos that do not exist", () => {
  it("get the same 403 on every operation, so a repo's existence does not leak", async () => {
    const { admin, outsider, repoId } = await team();
    const { id } = await createStorageKey(admin, repoId, { name: "kept", accessType: "READ" });
    const missingRepo = unknownId();
    const body = { name: "x", accessType: "READ" };

    const requests = (repo: string, key: string) =>
      [
        ["GET", keys(repo), undefined],
        ["POST", keys(repo), body],
        ["PUT", `${keys(repo)}/${key}`, body],
        ["DELETE", `${keys(repo)}/${key}`, undefined],
      ] as const;

    const real = requests(repoId, id);
    const missing = requests(missingRepo, unknownId());
    for (let i = 0; i < real.length; i++) {
      const [method, path, sent] = real[i] as (typeof real)[number];
      const [, missingPath] = missing[i] as (typeof missing)[number];
      const onReal = await call(method, path, { as: outsider, body: sent });
      const onMissing = await call(method, missingPath, { as: admin, body: sent });
      expectForbidden(onReal);
      expect(refusal(onMissing)).toEqual(refusal(onReal));
    }

    const row = await keyRow("storage_keys", id);
    expect(row).toMatchObject({ name: "kept", access_type: "READ", deleted_at: null });
    expect(await countKeyRows("storage_keys", repoId)).toBe(1);
  });
});
