import { describe, expect, it } from "vitest";
import { newUser } from "../support/api";
import { clientFor } from "./support";

describe("client.repos", () => {
  it("creates a repository, gets it, and lists it (all, or one workspace's)", async () => {
    const { client } = await clientFor(newUser("owner"));
    const { id: workspaceId } = await client.workspaces.create({ name: "Repos" });
    const { id: otherWorkspaceId } = await client.workspaces.create({ name: "Other" });

    const created = await client.repos.create({ name: "assets", workspaceId });
    expect(created).toEqual({ success: true, id: expect.any(String), name: "assets", workspaceId });
    const other = await client.repos.create({ name: "logs", workspaceId: otherWorkspaceId });

    const { repo } = await client.repos.get(created.id);
    expect(repo).toEqual({
      id: created.id,
      name: "assets",
      workspaceId,
      role: "ADMIN",
      createdAt: expect.any(String),
    });

    const all = await client.repos.list();
    expect(all.repos.map((r) => r.id).sort()).toEqual([created.id, other.id].sort());
    const filtered = await client.repos.list({ workspaceId });
    expect(filtered.repos.map((r) => r.id)).toEqual([created.id]);
  });
});
