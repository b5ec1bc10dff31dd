import { describe, expect, it } from "vitest";
import { newUser } from "../support/api";
import { clientFor } from "./support";

describe("client.workspaces", () => {
  it("creates a workspace the caller administers, and lists it", async () => {
    const owner = newUser("owner");
    const { client } = await clientFor(owner);

    const created = await client.workspaces.create({ name: "Platform" });
    expect(created).toEqual({ success: true, id: expect.any(String), name: "Platform" });

    const { workspaces } = await client.workspaces.list();
    expect(workspaces).toEqual([
      { id: created.id, name: "Platform", role: "ADMIN", createdAt: expect.any(String) },
    ]);
  });

  it("adds, lists, updates and removes members", async () => {
    const owner = newUser("owner");
    const member = newUser("member");
    const { client } = await clientFor(owner);
    const { id: workspaceId } = await client.workspaces.create({ name: "Team" });

    const added = await client.workspaces.members.add(workspaceId, {
      userId: member,
      role: "READ",
    });
    expect(added.success).toBe(true);
    const roles = async () =>
      Object.fromEntries(
        (await client.workspaces.members.list(workspaceId)).users.map((u) => [u.userId, u.role]),
      );
    expect(await roles()).toEqual({ [owner]: "ADMIN", [member]: "READ" });

    await client.workspaces.members.update(workspaceId, member, { role: "WRITE" });
    expect(await roles()).toEqual({ [owner]: "ADMIN", [member]: "WRITE" });

    await client.workspaces.members.remove(workspaceId, member);
    expect(await roles()).toEqual({ [owner]: "ADMIN" });
  });
});
