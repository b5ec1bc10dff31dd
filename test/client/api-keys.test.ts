import { describe, expect, it } from "vitest";
import { team } from "../support/api";
import { clientFor } from "./support";

describe("client.apiKeys", () => {
  it("runs the quick links literally: create, list, update and delete with `access`", async () => {
    const { admin, repoId } = await team();
    const { client } = await clientFor(admin);

    const created = await client.apiKeys.create(repoId, { name: "CI Bot", access: "READ" });
    expect(created).toMatchObject({ success: true, id: expect.any(String) });
    expect(created.key).toMatch(/^FBAK/);
    expect(created.secret.length).toBeGreaterThan(0);

    const listed = await client.apiKeys.list(repoId);
    expect(listed.success).toBe(true);
    expect(listed.keys).toEqual([
      expect.objectContaining({ id: created.id, name: "CI Bot", accessType: "READ" }),
    ]);
    expect(listed.keys[0]).not.toHaveProperty("secret");

    const updated = await client.apiKeys.update(repoId, created.id, {
      name: "CI Bot",
      access: "WRITE",
    });
    expect(updated).toEqual({ success: true, message: expect.any(String) });
    expect((await client.apiKeys.list(repoId)).keys[0]?.accessType).toBe("WRITE");

    const deleted = await client.apiKeys.delete(repoId, created.id);
    expect(deleted).toEqual({ success: true, message: expect.any(String) });
    expect((await client.apiKeys.list(repoId)).keys).toEqual([]);
  });

  it("sends `accessType` on the wire whichever spelling the caller used", async () => {
    const { admin, repoId } = await team();
    const { client, sent } = await clientFor(admin);

    const viaAlias = await client.apiKeys.create(repoId, { name: "Alias", access: "ADMIN" });
    await client.apiKeys.create(repoId, { name: "Wire", accessType: "WRITE" });
    await client.apiKeys.update(repoId, viaAlias.id, { name: "Alias 2", access: "READ" });

    expect(sent.map((r) => JSON.parse(r.body ?? "null"))).toEqual([
      { name: "Alias", accessType: "ADMIN" },
      { name: "Wire", accessType: "WRITE" },
      { name: "Alias 2", accessType: "READ" },
    ]);
    const byName = Object.fromEntries(
      (await client.apiKeys.list(repoId)).keys.map((k) => [k.name, k.accessType]),
    );
    expect(byName).toEqual({ "Alias 2": "READ", Wire: "WRITE" });
  });

  it("refuses `access` and `accessType` that disagree, before sending anything", async () => {
    const { admin, repoId } = await team();
    const { client, sent } = await clientFor(admin);
    const both = { name: "Both", access: "READ", accessType: "ADMIN" } as never;

    await expect(client.apiKeys.create(repoId, both)).rejects.toThrow(TypeError);
    expect(sent).toEqual([]);
  });

  it("speaks Flashback's wire: bearer token always, a JSON Content-Type only with a body", async () => {
    const { admin, repoId } = await team();
    const { client, sent } = await clientFor(admin);

    const { id } = await client.apiKeys.create(repoId, { name: "CI Bot", access: "READ" });
    await client.apiKeys.list(repoId);
    await client.apiKeys.delete(repoId, id);

    expect(sent.map((r) => [r.method, new URL(r.url).pathname])).toEqual([
      ["POST", `/repo/${repoId}/apikey`],
      ["GET", `/repo/${repoId}/apikey`],
      ["DELETE", `/repo/${repoId}/apikey/${id}`],
    ]);
    for (const request of sent) {
      expect(request.headers.get("Authorization")).toMatch(/^Bearer ey/);
    }
    expect(sent[0]?.headers.get("Content-Type")).toBe("application/json");
    for (const request of sent.slice(1)) {
      expect(request.body).toBeUndefined();
      expect(request.headers.has("Content-Type")).toBe(false);
    }
  });
});
