import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Role } from "../src/access/roles";
import {
  type ApiResponse,
  addMember,
  call,
  createWorkspace,
  expectError,
  newUser,
  team,
} from "./support/api";
import { callWith, countingDb, dbWithConcurrentWrite } from "./support/keys";
import { sessionsThrough } from "./support/sessions";

const users = (workspaceId: string) => `/workspace/${workspaceId}/users`;
const member = (workspaceId: string, userId: string) =>
  `/workspace/${workspaceId}/users/${encodeURIComponent(userId)}`;

function expectForbidden(response: ApiResponse) {
  expectError(response, 403, "Insufficient permissions");
}

/** The workspace's members as D1 holds them: what a refused request must leave alone. */
async function membersInD1(workspaceId: string): Promise<Record<string, Role>> {
  const { results } = await env.DB.prepare(
    "SELECT user_id, role FROM workspace_members WHERE workspace_id = ? ORDER BY user_id",
  )
    .bind(workspaceId)
    .all<{ user_id: string; role: Role }>();
  return Object.fromEntries(results.map((row) => [row.user_id, row.role]));
}

/** The members as GET /workspace/{id}/users shows them to `as`. */
async function roles(as: string, workspaceId: string): Promise<Record<string, Role>> {
  const response = await call("GET", users(workspaceId), { as });
  expect(response.status, response.text).toBe(200);
  return Object.fromEntries(
    response.body.users.map((u: { userId: string; role: Role }) => [u.userId, u.role]),
  );
}

describe("creating a workspace", () => {
  it("answers {success, id, name} and makes the creator its ADMIN", async () => {
    const owner = newUser("owner");
    const response = await call("POST", "/workspace", { as: owner, body: { name: "Acme" } });
    expect(response.status, response.text).toBe(200);
    expect(response.body).toEqual({ success: true, id: expect.any(String), name: "Acme" });
    expect(response.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await roles(owner, response.body.id)).toEqual({ [owner]: "ADMIN" });
  });

  it("gives two workspaces of the same name different ids", async () => {
    const owner = newUser("owner");
    const first = await createWorkspace(owner, "Same");
    const second = await createWorkspace(owner, "Same");
    expect(first).not.toBe(second);
  });
});

describe("listing workspaces", () => {
  it("shows only the caller's workspaces, each with the caller's role", async () => {
    const alice = newUser("alice");
    const bob = newUser("bob");
    const mine = await createWorkspace(alice, "Alice's");
    const theirs = await createWorkspace(bob, "Bob's");
    await addMember(bob, theirs, alice, "READ");
    await createWorkspace(bob, "Bob's private");

    const response = await call("GET", "/workspace", { as: alice });
    expect(response.status, response.text).toBe(200);
    expect(response.body.success).toBe(true);
    // Creation times can share a millisecond, so the order is not asserted here.
    expect(
      response.body.workspaces.map((w: { id: string; name: string; role: Role }) => [
        w.id,
        w.name,
        w.role,
      ]),
    ).toEqual(
      expect.arrayContaining([
        [theirs, "Bob's", "READ"],
        [mine, "Alice's", "ADMIN"],
      ]),
    );
    expect(response.body.workspaces).toHaveLength(2);
    for (const workspace of response.body.workspaces) {
      expect(new Date(workspace.createdAt).toISOString()).toBe(workspace.createdAt);
    }
  });

  it("is empty for a user with no workspace", async () => {
    const response = await call("GET", "/workspace", { as: newUser("loner") });
    expect(response.body).toEqual({ success: true, workspaces: [] });
  });
});

describe("listing a workspace's members", () => {
  it("is open to every member, READ included, and shows each role", async () => {
    const { admin, writer, reader, workspaceId } = await team();
    for (const caller of [admin, writer, reader]) {
      const response = await call("GET", users(workspaceId), { as: caller });
      expect(response.status, response.text).toBe(200);
      expect(response.body.success).toBe(true);
      for (const user of response.body.users) {
        expect(Object.keys(user).sort()).toEqual(["createdAt", "role", "userId"]);
      }
      expect(await roles(caller, workspaceId)).toEqual({
        [admin]: "ADMIN",
        [writer]: "WRITE",
        [reader]: "READ",
      });
    }
  });

  it("is refused to a non-member, like a workspace that does not exist", async () => {
    const { outsider, workspaceId } = await team();
    expectForbidden(await call("GET", users(workspaceId), { as: outsider }));
    expectForbidden(await call("GET", users(crypto.randomUUID()), { as: outsider }));
  });
});

describe("adding a member", () => {
  it("lets an ADMIN add a user with a role", async () => {
    const { admin, workspaceId } = await team();
    const newcomer = newUser("newcomer");
    const response = await call("POST", users(workspaceId), {
      as: admin,
      body: { userId: newcomer, role: "WRITE" },
    });
    expect(response.status, response.text).toBe(200);
    expect(response.body).toEqual({ success: true, message: expect.any(String) });
    expect((await membersInD1(workspaceId))[newcomer]).toBe("WRITE");
    // The newcomer now sees the workspace, with that role.
    const listed = await call("GET", "/workspace", { as: newcomer });
    expect(listed.body.workspaces).toEqual([
      expect.objectContaining({ id: workspaceId, role: "WRITE" }),
    ]);
  });

  it("is refused to WRITE and READ members and to outsiders, and adds nobody", async () => {
    const { writer, reader, outsider, workspaceId } = await team();
    const before = await membersInD1(workspaceId);
    for (const caller of [writer, reader, outsider]) {
      const response = await call("POST", users(workspaceId), {
        as: caller,
        body: { userId: newUser("friend"), role: "READ" },
      });
      expectForbidden(response);
    }
    // Nor may a member promote themselves by re-adding themselves.
    expectForbidden(
      await call("POST", users(workspaceId), {
        as: writer,
        body: { userId: writer, role: "ADMIN" },
      }),
    );
    expect(await membersInD1(workspaceId)).toEqual(before);
  });

  it("answers 409 for a user who is already a member, and keeps their role", async () => {
    const { admin, reader, workspaceId } = await team();
    const response = await call("POST", users(workspaceId), {
      as: admin,
      body: { userId: reader, role: "ADMIN" },
    });
    expectError(response, 409, /already a member/);
    expect((await membersInD1(workspaceId))[reader]).toBe("READ");
  });

  it("answers 403 for a workspace that does not exist", async () => {
    const response = await call("POST", users(crypto.randomUUID()), {
      as: newUser(),
      body: { userId: newUser(), role: "READ" },
    });
    expectForbidden(response);
  });

  it("costs one D1 round trip, refused or not", async () => {
    const { admin, reader, workspaceId } = await team();
    const newcomer = newUser("counted");
    for (const [as, status] of [
      [admin, 200],
      [reader, 403],
      [admin, 409],
    ] as const) {
      const { db, roundTrips } = countingDb();
      const response = await callWith({ DB: db }, "POST", users(workspaceId), {
        as,
        body: { userId: newcomer, role: "READ" },
      });
      expect(response.status, response.text).toBe(status);
      expect(roundTrips()).toBe(1);
    }
  });
});

describe("changing a member's role", () => {
  it("lets an ADMIN promote and demote members", async () => {
    const { admin, writer, reader, workspaceId } = await team();
    const promote = await call("PUT", member(workspaceId, reader), {
      as: admin,
      body: { role: "WRITE" },
    });
    expect(promote.status, promote.text).toBe(200);
    expect(promote.body).toEqual({ success: true, message: expect.any(String) });
    const demote = await call("PUT", member(workspaceId, writer), {
      as: admin,
      body: { role: "READ" },
    });
    expect(demote.status, demote.text).toBe(200);
    expect(await membersInD1(workspaceId)).toEqual({
      [admin]: "ADMIN",
      [writer]: "READ",
      [reader]: "WRITE",
    });
  });

  it("is refused to WRITE and READ members and to outsiders", async () => {
    const { admin, writer, reader, outsider, workspaceId } = await team();
    const before = await membersInD1(workspaceId);
    for (const caller of [writer, reader, outsider]) {
      expectForbidden(
        await call("PUT", member(workspaceId, reader), { as: caller, body: { role: "ADMIN" } }),
      );
      expectForbidden(
        await call("PUT", member(workspaceId, admin), { as: caller, body: { role: "READ" } }),
      );
    }
    expectForbidden(
      await call("PUT", member(workspaceId, writer), { as: writer, body: { role: "ADMIN" } }),
    );
    expect(await membersInD1(workspaceId)).toEqual(before);
  });

  it("answers 404 for a user who is not a member", async () => {
    const { admin, workspaceId } = await team();
    const response = await call("PUT", member(workspaceId, newUser("stranger")), {
      as: admin,
      body: { role: "READ" },
    });
    expectError(response, 404, /not a member/);
  });

  it("refuses to demote the last ADMIN (409), even by themselves", async () => {
    const { admin, workspaceId } = await team();
    for (const role of ["WRITE", "READ"]) {
      const response = await call("PUT", member(workspaceId, admin), { as: admin, body: { role } });
      expectError(response, 409, /ADMIN/);
    }
    expect((await membersInD1(workspaceId))[admin]).toBe("ADMIN");
  });

  it("lets an ADMIN be demoted once another ADMIN exists", async () => {
    const { admin, writer, workspaceId } = await team();
    await call("PUT", member(workspaceId, writer), { as: admin, body: { role: "ADMIN" } });
    const response = await call("PUT", member(workspaceId, admin), {
      as: writer,
      body: { role: "READ" },
    });
    expect(response.status, response.text).toBe(200);
    expect(await membersInD1(workspaceId)).toMatchObject({ [admin]: "READ", [writer]: "ADMIN" });
    // The demoted member has lost the ADMIN's rights at once.
    expectForbidden(
      await call("PUT", member(workspaceId, writer), { as: admin, body: { role: "READ" } }),
    );
  });

  it("leaves an ADMIN who is set to ADMIN again as they were", async () => {
    const { admin, workspaceId } = await team();
    const response = await call("PUT", member(workspaceId, admin), {
      as: admin,
      body: { role: "ADMIN" },
    });
    expect(response.status, response.text).toBe(200);
    expect((await membersInD1(workspaceId))[admin]).toBe("ADMIN");
  });
});

describe("removing a member", () => {
  it("lets an ADMIN remove a member, who then loses access", async () => {
    const { admin, writer, workspaceId } = await team();
    const response = await call("DELETE", member(workspaceId, writer), { as: admin });
    expect(response.status, response.text).toBe(200);
    expect(response.body).toEqual({ success: true, message: expect.any(String) });
    expect(await membersInD1(workspaceId)).not.toHaveProperty(writer);
    expectForbidden(await call("GET", users(workspaceId), { as: writer }));
    expect((await call("GET", "/workspace", { as: writer })).body.workspaces).toEqual([]);
  });

  it("is refused to WRITE and READ members and to outsiders", async () => {
    const { admin, writer, reader, outsider, workspaceId } = await team();
    const before = await membersInD1(workspaceId);
    for (const caller of [writer, reader, outsider]) {
      expectForbidden(await call("DELETE", member(workspaceId, reader), { as: caller }));
      expectForbidden(await call("DELETE", member(workspaceId, admin), { as: caller }));
    }
    expect(await membersInD1(workspaceId)).toEqual(before);
  });

  it("answers 404 for a user who is not a member", async () => {
    const { admin, workspaceId } = await team();
    const response = await call("DELETE", member(workspaceId, newUser("stranger")), { as: admin });
    expectError(response, 404, /not a member/);
  });

  it("refuses to remove the last ADMIN (409)", async () => {
    const { admin, workspaceId } = await team();
    const before = await membersInD1(workspaceId);
    const response = await call("DELETE", member(workspaceId, admin), { as: admin });
    expectError(response, 409, /ADMIN/);
    expect(await membersInD1(workspaceId)).toEqual(before);
  });

  it("lets an ADMIN remove another ADMIN", async () => {
    const { admin, workspaceId } = await team();
    const second = newUser("second-admin");
    await addMember(admin, workspaceId, second, "ADMIN");
    const response = await call("DELETE", member(workspaceId, second), { as: admin });
    expect(response.status, response.text).toBe(200);
    expect(await membersInD1(workspaceId)).not.toHaveProperty(second);
  });

  it("lets an ADMIN remove themselves while another ADMIN remains", async () => {
    const { admin, workspaceId } = await team();
    const successor = newUser("successor");
    await addMember(admin, workspaceId, successor, "ADMIN");
    const response = await call("DELETE", member(workspaceId, admin), { as: admin });
    expect(response.status, response.text).toBe(200);
    expect(await membersInD1(workspaceId)).not.toHaveProperty(admin);
    expectForbidden(await call("GET", users(workspaceId), { as: admin }));
    // And the successor, now the last ADMIN, cannot leave.
    expectError(await call("DELETE", member(workspaceId, successor), { as: successor }), 409);
  });

  it("lets a removed member be added back", async () => {
    const { admin, reader, workspaceId } = await team();
    await call("DELETE", member(workspaceId, reader), { as: admin });
    await addMember(admin, workspaceId, reader, "WRITE");
    expect((await membersInD1(workspaceId))[reader]).toBe("WRITE");
  });
});

describe("member ids in paths", () => {
  it("work for user ids with characters that need escaping", async () => {
    const { admin, workspaceId } = await team();
    const odd = `${newUser("odd")}|auth0/ü@example.com`;
    await addMember(admin, workspaceId, odd, "READ");
    const update = await call("PUT", member(workspaceId, odd), {
      as: admin,
      body: { role: "WRITE" },
    });
    expect(update.status, update.text).toBe(200);
    expect((await membersInD1(workspaceId))[odd]).toBe("WRITE");
    const remove = await call("DELETE", member(workspaceId, odd), { as: admin });
    expect(remove.status, remove.text).toBe(200);
  });
});

describe("membership changes racing with another admin", () => {
  it("refuses a removal by an ADMIN who was removed while the request was in flight", async () => {
    const { admin, reader, workspaceId } = await team();
    const other = newUser("other-admin");
    await addMember(admin, workspaceId, other, "ADMIN");
    const db = dbWithConcurrentWrite(() =>
      env.DB.prepare("DELETE FROM workspace_members WHERE workspace_id = ? AND user_id = ?")
        .bind(workspaceId, admin)
        .run(),
    );
    const response = await callWith({ DB: db }, "DELETE", member(workspaceId, reader), {
      as: admin,
    });
    expectForbidden(response);
    expect((await membersInD1(workspaceId))[reader]).toBe("READ");
  });

  it("refuses a role change by an ADMIN who was demoted while the request was in flight", async () => {
    const { admin, reader, workspaceId } = await team();
    const other = newUser("other-admin");
    await addMember(admin, workspaceId, other, "ADMIN");
    const db = dbWithConcurrentWrite(() =>
      env.DB.prepare(
        "UPDATE workspace_members SET role = 'READ' WHERE workspace_id = ? AND user_id = ?",
      )
        .bind(workspaceId, admin)
        .run(),
    );
    const response = await callWith({ DB: db }, "PUT", member(workspaceId, reader), {
      as: admin,
      body: { role: "ADMIN" },
    });
    expectForbidden(response);
    expect((await membersInD1(workspaceId))[reader]).toBe("READ");
  });

  it("answers 404, not 409, when the member left while their role change was in flight", async () => {
    const { admin, reader, workspaceId } = await team();
    const db = dbWithConcurrentWrite(() =>
      env.DB.prepare("DELETE FROM workspace_members WHERE workspace_id = ? AND user_id = ?")
        .bind(workspaceId, reader)
        .run(),
    );
    const response = await callWith({ DB: db }, "PUT", member(workspaceId, reader), {
      as: admin,
      body: { role: "WRITE" },
    });
    expectError(response, 404, /not a member/);
  });
});

/**
 * The real D1, where `meanwhile` runs once just before the request's first write (alone or in
 * a batch) reaches the database: a role change landing after any check the handler read.
 */
function dbChangedBeforeFirstWrite(meanwhile: () => Promise<unknown>): D1Database {
  const queries = new WeakMap<D1PreparedStatement, string>();
  let pending = true;
  const beforeWrite = async (statements: D1PreparedStatement[]) => {
    const writes = statements.some((st) =>
      /^\s*(insert|update|delete)/i.test(queries.get(st) ?? ""),
    );
    if (pending && writes) {
      pending = false;
      await meanwhile();
    }
  };
  const tracked = (statement: D1PreparedStatement, query: string): D1PreparedStatement => {
    queries.set(statement, query);
    const self = statement as unknown as Record<string, (...args: unknown[]) => unknown>;
    for (const method of ["run", "all", "first", "raw"]) {
      const original = self[method]?.bind(statement);
      self[method] = async (...args: unknown[]) => {
        await beforeWrite([statement]);
        return original?.(...args);
      };
    }
    const bind = statement.bind.bind(statement);
    self.bind = (...values: unknown[]) => tracked(bind(...values), query);
    return statement;
  };
  return sessionsThrough(
    new Proxy(env.DB, {
      get(target, property) {
        if (property === "prepare") return (query: string) => tracked(target.prepare(query), query);
        if (property === "batch") {
          return async (statements: D1PreparedStatement[]) => {
            await beforeWrite(statements);
            return target.batch(statements);
          };
        }
        const value = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    }),
  );
}

const setRole = (workspaceId: string, userId: string, role: Role) => () =>
  env.DB.prepare("UPDATE workspace_members SET role = ? WHERE workspace_id = ? AND user_id = ?")
    .bind(role, workspaceId, userId)
    .run();

describe("writes racing with a change of the caller's own role", () => {
  it("do not add a member for an ADMIN demoted just before the write", async () => {
    const { admin, workspaceId } = await team();
    await addMember(admin, workspaceId, newUser("other-admin"), "ADMIN");
    const newcomer = newUser("newcomer");
    const db = dbChangedBeforeFirstWrite(setRole(workspaceId, admin, "READ"));
    const response = await callWith({ DB: db }, "POST", users(workspaceId), {
      as: admin,
      body: { userId: newcomer, role: "ADMIN" },
    });
    expectForbidden(response);
    expect(await membersInD1(workspaceId)).not.toHaveProperty(newcomer);
  });

  it("do not create a repo for a WRITE member demoted just before the write", async () => {
    const { admin, writer, workspaceId } = await team();
    const db = dbChangedBeforeFirstWrite(setRole(workspaceId, writer, "READ"));
    const response = await callWith({ DB: db }, "POST", "/repo", {
      as: writer,
      body: { name: "late", workspaceId },
    });
    expectForbidden(response);
    const listed = await call("GET", `/repo?workspaceId=${workspaceId}`, { as: admin });
    expect(listed.body.repos.map((r: { name: string }) => r.name)).not.toContain("late");
  });

  it("still create a repo for a member promoted just before the write", async () => {
    const { reader, workspaceId } = await team();
    const db = dbChangedBeforeFirstWrite(setRole(workspaceId, reader, "WRITE"));
    const response = await callWith({ DB: db }, "POST", "/repo", {
      as: reader,
      body: { name: "promoted", workspaceId },
    });
    // The role at the moment of the write is the one that counts.
    expect(response.status, response.text).toBe(200);
  });
});
