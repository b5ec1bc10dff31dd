import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  type ApiResponse,
  addMember,
  call,
  createRepo,
  createWorkspace,
  expectError,
  newUser,
  team,
} from "./support/api";
import { callWith, countingDb } from "./support/keys";

function expectForbidden(response: ApiResponse) {
  expectError(response, 403, "Insufficient permissions");
}

/** A refusal without its per-request id: what a caller can compare between two answers. */
const refusal = (response: ApiResponse) => {
  const { requestId: _, ...body } = response.body;
  return { status: response.status, contentType: response.headers.get("Content-Type"), body };
};

async function reposInD1(workspaceId: string): Promise<string[]> {
  const { results } = await env.DB.prepare(
    "SELECT name FROM repos WHERE workspace_id = ? ORDER BY name",
  )
    .bind(workspaceId)
    .all<{ name: string }>();
  return results.map((row) => row.name);
}

const repoIds = (response: ApiResponse): string[] =>
  response.body.repos.map((repo: { id: string }) => repo.id).sort();

describe("creating a repository", () => {
  it("answers {success, id, name, workspaceId} to an ADMIN", async () => {
    const { admin, workspaceId } = await team();
    const response = await call("POST", "/repo", {
      as: admin,
      body: { name: "photos", workspaceId },
    });
    expect(response.status, response.text).toBe(200);
    expect(response.body).toEqual({
      success: true,
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: "photos",
      workspaceId,
    });
  });

  it("is allowed to WRITE members", async () => {
    const { writer, workspaceId } = await team();
    const response = await call("POST", "/repo", {
      as: writer,
      body: { name: "writer's repo", workspaceId },
    });
    expect(response.status, response.text).toBe(200);
    expect(await reposInD1(workspaceId)).toContain("writer's repo");
  });

  it("is refused to READ members and outsiders, and creates nothing", async () => {
    const { reader, outsider, workspaceId } = await team();
    const before = await reposInD1(workspaceId);
    for (const caller of [reader, outsider]) {
      expectForbidden(
        await call("POST", "/repo", { as: caller, body: { name: "sneaky", workspaceId } }),
      );
    }
    expect(await reposInD1(workspaceId)).toEqual(before);
  });

  it("answers 403 for a workspace that does not exist, as for one the caller is not in", async () => {
    const { outsider, workspaceId } = await team();
    const missing = crypto.randomUUID();
    const unknown = await call("POST", "/repo", {
      as: outsider,
      body: { name: "x", workspaceId: missing },
    });
    const foreign = await call("POST", "/repo", { as: outsider, body: { name: "x", workspaceId } });
    expectForbidden(unknown);
    expect(refusal(unknown)).toEqual(refusal(foreign));
    expect(await reposInD1(missing)).toEqual([]);
  });

  it("answers 409 to a second repository of the same name in a workspace", async () => {
    const { admin, writer, workspaceId } = await team();
    await createRepo(admin, workspaceId, "shared-name");
    const response = await call("POST", "/repo", {
      as: writer,
      body: { name: "shared-name", workspaceId },
    });
    expectError(response, 409, /shared-name/);
    expect((await reposInD1(workspaceId)).filter((n) => n === "shared-name")).toHaveLength(1);
  });

  it("allows the same name in two different workspaces", async () => {
    const owner = newUser("owner");
    const first = await createWorkspace(owner);
    const second = await createWorkspace(owner);
    await createRepo(owner, first, "everywhere");
    await createRepo(owner, second, "everywhere");
    expect(await reposInD1(second)).toEqual(["everywhere"]);
  });
});

describe("listing repositories", () => {
  it("shows the repos of every workspace the caller is in, and no others", async () => {
    const alice = newUser("alice");
    const bob = newUser("bob");
    const alicesWorkspace = await createWorkspace(alice);
    const bobsWorkspace = await createWorkspace(bob);
    const bobsPrivate = await createWorkspace(bob);
    await addMember(bob, bobsWorkspace, alice, "READ");
    const a1 = await createRepo(alice, alicesWorkspace);
    const b1 = await createRepo(bob, bobsWorkspace);
    await createRepo(bob, bobsPrivate);

    const response = await call("GET", "/repo", { as: alice });
    expect(response.status, response.text).toBe(200);
    expect(response.body.success).toBe(true);
    expect(repoIds(response)).toEqual([a1, b1].sort());
    const bobs = response.body.repos.find((repo: { id: string }) => repo.id === b1);
    expect(bobs).toEqual({
      id: b1,
      name: expect.any(String),
      workspaceId: bobsWorkspace,
      role: "READ",
      createdAt: expect.any(String),
    });
  });

  it("filters by ?workspaceId=", async () => {
    const owner = newUser("owner");
    const first = await createWorkspace(owner);
    const second = await createWorkspace(owner);
    const inFirst = await createRepo(owner, first);
    const inSecond = await createRepo(owner, second);
    const firstOnly = await call("GET", `/repo?workspaceId=${first}`, { as: owner });
    expect(repoIds(firstOnly)).toEqual([inFirst]);
    const secondOnly = await call("GET", `/repo?workspaceId=${second}`, { as: owner });
    expect(repoIds(secondOnly)).toEqual([inSecond]);
  });

  it("shows nothing when filtering by a workspace the caller is not in", async () => {
    const { outsider, workspaceId } = await team();
    const response = await call("GET", `/repo?workspaceId=${workspaceId}`, { as: outsider });
    expect(response.status, response.text).toBe(200);
    expect(response.body).toEqual({ success: true, repos: [] });
  });

  it("refuses a ?workspaceId= that is not a UUID with 400", async () => {
    expectError(await call("GET", "/repo?workspaceId=nope", { as: newUser() }), 400);
  });

  it("stops showing a workspace's repos to a member who was removed", async () => {
    const { admin, reader, workspaceId, repoId } = await team();
    expect(repoIds(await call("GET", "/repo", { as: reader }))).toEqual([repoId]);
    await call("DELETE", `/workspace/${workspaceId}/users/${reader}`, { as: admin });
    expect(repoIds(await call("GET", "/repo", { as: reader }))).toEqual([]);
  });
});

describe("reading one repository", () => {
  it("is open to every member, with the caller's own role", async () => {
    const { admin, writer, reader, workspaceId, repoId } = await team();
    const expected = { admin: "ADMIN", writer: "WRITE", reader: "READ" } as const;
    for (const [who, caller] of Object.entries({ admin, writer, reader })) {
      const response = await call("GET", `/repo/${repoId}`, { as: caller });
      expect(response.status, response.text).toBe(200);
      expect(response.body).toEqual({
        success: true,
        repo: {
          id: repoId,
          name: expect.any(String),
          workspaceId,
          role: expected[who as keyof typeof expected],
          createdAt: expect.any(String),
        },
      });
    }
  });

  it("answers a repo that does not exist exactly like one the caller cannot reach", async () => {
    const { outsider, repoId } = await team();
    const unreachable = await call("GET", `/repo/${repoId}`, { as: outsider });
    const missing = await call("GET", `/repo/${crypto.randomUUID()}`, { as: outsider });
    expectForbidden(unreachable);
    expectForbidden(missing);
    expect(refusal(missing)).toEqual(refusal(unreachable));
    expect(missing.body).toEqual({
      success: false,
      message: "Insufficient permissions",
      code: "FORBIDDEN",
      requestId: expect.any(String),
    });
  });

  it("finds a repo whose id is written in upper case", async () => {
    const { reader, repoId } = await team();
    const response = await call("GET", `/repo/${repoId.toUpperCase()}`, { as: reader });
    expect(response.status, response.text).toBe(200);
    expect(response.body.repo.id).toBe(repoId);
  });
});

describe("D1 round trips", () => {
  it("are one to create a repository, refused or not", async () => {
    const { writer, reader, workspaceId } = await team();
    for (const [as, status] of [
      [writer, 200],
      [reader, 403],
      [writer, 409],
    ] as const) {
      const { db, roundTrips } = countingDb();
      const response = await callWith({ DB: db }, "POST", "/repo", {
        as,
        body: { name: "counted", workspaceId },
      });
      expect(response.status, response.text).toBe(status);
      expect(roundTrips()).toBe(1);
    }
  });
});
