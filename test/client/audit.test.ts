import { describe, expect, it } from "vitest";
import type { FlashgateClient } from "../../client/src/index.ts";
import { newUser } from "../support/api";
import { clientFor } from "./support";

/** Audit events arrive through the queue about a second after the change; wait for them. */
async function eventsOf(client: FlashgateClient, workspaceId: string, count: number) {
  const deadline = Date.now() + 8000;
  for (;;) {
    const page = await client.audit.workspace(workspaceId, { limit: 100 });
    if (page.events.length >= count) return page.events;
    if (Date.now() > deadline) throw new Error(`expected ${count} audit events in time`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("client.audit", () => {
  it("pages through a workspace's and a repository's events with limit and cursor", async () => {
    const { client } = await clientFor(newUser("admin"));
    const { id: workspaceId } = await client.workspaces.create({ name: "Audited" });
    const { id: repoId } = await client.repos.create({ name: "audited", workspaceId });
    await client.apiKeys.create(repoId, { name: "CI Bot", access: "READ" });
    await client.aiApiKeys.create(repoId, { name: "Gateway", aiType: "OPENAI" });
    const all = await eventsOf(client, workspaceId, 4);
    expect(all.map((e) => e.type).sort()).toEqual(
      ["ai_apikey.created", "apikey.created", "repo.created", "workspace.created"].sort(),
    );

    const first = await client.audit.workspace(workspaceId, { limit: 3 });
    expect(first.events).toHaveLength(3);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await client.audit.workspace(workspaceId, {
      limit: 3,
      cursor: first.nextCursor ?? undefined,
    });
    expect(second.nextCursor).toBeNull();
    expect([...first.events, ...second.events].map((e) => e.id)).toEqual(all.map((e) => e.id));

    const repoEvents = await client.audit.repo(repoId);
    expect(repoEvents.events.map((e) => e.type).sort()).toEqual(
      ["ai_apikey.created", "apikey.created", "repo.created"].sort(),
    );
    expect(repoEvents.events.every((e) => e.repoId === repoId)).toBe(true);
  });
});
