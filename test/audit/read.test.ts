import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../../src/audit/event";
import { bytesToBase64Url } from "../../src/crypto/base64";
import { call, expectError, newUser, team } from "../support/api";
import { auditEvent, quietWorkspace, seedEvents } from "../support/audit";
import { createStorageKey } from "../support/keys";

/** Events one second apart, newest last, the i-th at `start` + i seconds. */
function eventsOver(count: number, fields: Partial<AuditEvent>, start = Date.UTC(2030, 0, 1)) {
  return Array.from({ length: count }, (_, i) =>
    auditEvent({ ...fields, at: new Date(start + i * 1000).toISOString() }),
  );
}

/** Newest first, ties broken by id, descending: the order the API promises. */
function newestFirst(events: AuditEvent[]): string[] {
  return [...events]
    .sort((a, b) => (a.at === b.at ? b.id.localeCompare(a.id) : b.at.localeCompare(a.at)))
    .map((event) => event.id);
}

/** Follows nextCursor from the first page to the last; returns every page's event ids. */
async function walk(path: string, as: string, limit: number): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: string | null = null;
  do {
    const query: string = `limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const response = await call("GET", `${path}?${query}`, { as });
    expect(response.status, response.text).toBe(200);
    pages.push(response.body.events.map((event: AuditEvent) => event.id));
    cursor = response.body.nextCursor;
    expect(pages.length).toBeLessThan(50);
  } while (cursor !== null);
  return pages;
}

const scopes = [
  { name: "GET /repo/{repoId}/audit", path: (t: { repoId: string }) => `/repo/${t.repoId}/audit` },
  {
    name: "GET /workspace/{workspaceId}/audit",
    path: (t: { workspaceId: string }) => `/workspace/${t.workspaceId}/audit`,
  },
];

for (const scope of scopes) {
  describe(scope.name, () => {
    it("is for the workspace's ADMINs only: WRITE, READ and outsiders get 403", async () => {
      const t = await team();
      expect((await call("GET", scope.path(t), { as: t.admin })).status).toBe(200);
      for (const as of [t.writer, t.reader, t.outsider]) {
        expectError(await call("GET", scope.path(t), { as }), 403);
      }
    });

    it("answers 403 for an id that does not exist", async () => {
      const { admin } = await quietWorkspace();
      const path = scope.path({ repoId: crypto.randomUUID(), workspaceId: crypto.randomUUID() });
      expectError(await call("GET", path, { as: admin }), 403);
    });

    it("needs a token", async () => {
      const t = await quietWorkspace();
      expectError(await call("GET", scope.path(t)), 401);
    });

    it("returns the events newest first, each as it was recorded", async () => {
      const t = await quietWorkspace();
      const events = eventsOver(3, { workspaceId: t.workspaceId, repoId: t.repoId });
      await seedEvents(events);

      const response = await call("GET", scope.path(t), { as: t.admin });

      expect(response.status, response.text).toBe(200);
      expect(response.headers.get("Cache-Control")).toBe("no-store");
      expect(response.body).toEqual({
        success: true,
        events: [...events].reverse().map((event) => ({ ...event, deadLettered: false })),
        nextCursor: null,
      });
    });

    it("returns 50 events by default, and at most 100", async () => {
      const t = await quietWorkspace();
      await seedEvents(eventsOver(101, { workspaceId: t.workspaceId, repoId: t.repoId }));

      const byDefault = await call("GET", scope.path(t), { as: t.admin });
      expect(byDefault.body.events).toHaveLength(50);
      expect(byDefault.body.nextCursor).toEqual(expect.any(String));

      const most = await call("GET", `${scope.path(t)}?limit=100`, { as: t.admin });
      expect(most.body.events).toHaveLength(100);
      const one = await call("GET", `${scope.path(t)}?limit=1`, { as: t.admin });
      expect(one.body.events).toHaveLength(1);
    });

    for (const limit of ["0", "101", "abc", "1.5", "-1", "0x10", "1e1", "%205", ""]) {
      it(`refuses limit=${limit} with 400`, async () => {
        const t = await quietWorkspace();
        expectError(await call("GET", `${scope.path(t)}?limit=${limit}`, { as: t.admin }), 400);
      });
    }

    it("pages through every event exactly once, ties on time broken by id", async () => {
      const t = await quietWorkspace();
      const sameMoment = new Date(Date.UTC(2030, 5, 1)).toISOString();
      const events = [
        ...eventsOver(3, { workspaceId: t.workspaceId, repoId: t.repoId }),
        // Four events in the same millisecond: pages must split them without repeats or gaps.
        ...Array.from({ length: 4 }, () =>
          auditEvent({ workspaceId: t.workspaceId, repoId: t.repoId, at: sameMoment }),
        ),
      ];
      await seedEvents(events);

      const pages = await walk(scope.path(t), t.admin, 2);

      expect(pages.map((page) => page.length)).toEqual([2, 2, 2, 1]);
      expect(pages.flat()).toEqual(newestFirst(events));
    });

    it("ends on a full last page when the events divide evenly", async () => {
      const t = await quietWorkspace();
      const events = eventsOver(6, { workspaceId: t.workspaceId, repoId: t.repoId });
      await seedEvents(events);

      const pages = await walk(scope.path(t), t.admin, 3);

      expect(pages.map((page) => page.length)).toEqual([3, 3]);
      expect(pages.flat()).toEqual(newestFirst(events));
    });

    const garbage = [
      ["not base64", "%%%not-a-cursor%%%"],
      ["base64 of something that is not JSON", bytesToBase64Url(new TextEncoder().encode("hi"))],
      ["JSON of the wrong shape", bytesToBase64Url(new TextEncoder().encode('["x","y"]'))],
      ["an over-long string", "A".repeat(600)],
    ];
    for (const [what, cursor] of garbage) {
      it(`refuses a cursor that is ${what} with 400`, async () => {
        const t = await quietWorkspace();
        const path = `${scope.path(t)}?cursor=${encodeURIComponent(cursor as string)}`;
        expectError(await call("GET", path, { as: t.admin }), 400);
      });
    }
  });
}

describe("what each scope holds", () => {
  it("a repo's audit holds that repo's events only", async () => {
    const t = await quietWorkspace();
    const mine = eventsOver(2, { workspaceId: t.workspaceId, repoId: t.repoId });
    await seedEvents([
      ...mine,
      auditEvent({ workspaceId: t.workspaceId, repoId: t.otherRepoId }),
      auditEvent({ workspaceId: t.workspaceId, repoId: undefined, type: "workspace.member_added" }),
    ]);
    const response = await call("GET", `/repo/${t.repoId}/audit`, { as: t.admin });
    expect(response.body.events.map((event: AuditEvent) => event.id)).toEqual(newestFirst(mine));
  });

  it("a workspace's audit holds all its repos' events and its own, and no other workspace's", async () => {
    const t = await quietWorkspace();
    const other = await quietWorkspace();
    const mine = [
      auditEvent({ workspaceId: t.workspaceId, repoId: t.repoId }),
      auditEvent({ workspaceId: t.workspaceId, repoId: t.otherRepoId }),
      auditEvent({ workspaceId: t.workspaceId, repoId: undefined, type: "workspace.created" }),
    ];
    await seedEvents([...mine, auditEvent({ workspaceId: other.workspaceId })]);
    const response = await call("GET", `/workspace/${t.workspaceId}/audit`, { as: t.admin });
    expect(response.body.events.map((event: AuditEvent) => event.id).sort()).toEqual(
      mine.map((event) => event.id).sort(),
    );
  });

  it("flags events that came through the dead-letter queue", async () => {
    const t = await quietWorkspace();
    const event = auditEvent({ workspaceId: t.workspaceId, repoId: t.repoId });
    await seedEvents([event], { deadLettered: true });
    const response = await call("GET", `/repo/${t.repoId}/audit`, { as: t.admin });
    expect(response.body.events).toEqual([{ ...event, deadLettered: true }]);
  });
});

describe("a change made through the API", () => {
  it("is readable in the repo's and the workspace's audit within seconds", async () => {
    const { admin, writer, workspaceId, repoId } = await team();
    const { id } = await createStorageKey(writer, repoId, { name: "CI Bot" });
    const created = (events: AuditEvent[]) =>
      events.find((event) => event.type === "apikey.created" && event.targetId === id);

    const deadline = Date.now() + 10_000;
    let repoEvent: AuditEvent | undefined;
    let workspaceEvent: AuditEvent | undefined;
    while (!(repoEvent && workspaceEvent) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      repoEvent = created((await call("GET", `/repo/${repoId}/audit`, { as: admin })).body.events);
      workspaceEvent = created(
        (await call("GET", `/workspace/${workspaceId}/audit`, { as: admin })).body.events,
      );
    }

    expect(repoEvent).toMatchObject({ actorId: writer, workspaceId, repoId, deadLettered: false });
    expect(workspaceEvent).toEqual(repoEvent);
  }, 20_000);

  it("is not readable by another workspace's ADMIN", async () => {
    const { repoId, workspaceId } = await team();
    const stranger = newUser("stranger");
    await call("POST", "/workspace", { as: stranger, body: { name: "Elsewhere" } });
    expectError(await call("GET", `/repo/${repoId}/audit`, { as: stranger }), 403);
    expectError(await call("GET", `/workspace/${workspaceId}/audit`, { as: stranger }), 403);
  });
});
