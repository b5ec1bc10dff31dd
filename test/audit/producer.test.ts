import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type AuditEvent, AuditEventSchema } from "../../src/audit/event";
import { call, newUser, team, tokenFor } from "../support/api";
import { type SentRequest, send, waitForEvents } from "../support/audit";
import { createAiKey, createStorageKey } from "../support/keys";

const IP = "198.51.100.23";
const USER_AGENT = "flashgate-cli/2.3 (audit test)";
const client = { "CF-Connecting-IP": IP, "User-Agent": USER_AGENT };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Asserts that the request succeeded and sent exactly one event, valid per the one schema and
 * carrying the request's id, the client's IP and user agent; returns it.
 */
function onlyEvent(request: SentRequest, expected: Partial<AuditEvent>): AuditEvent {
  const { response, sent } = request;
  expect(response.status, response.text).toBeLessThan(300);
  expect(sent).toHaveLength(1);
  const event = sent[0] as AuditEvent;
  expect(AuditEventSchema.safeParse(event).success).toBe(true);
  expect(event).toEqual({
    id: expect.stringMatching(UUID),
    at: expect.any(String),
    requestId: response.headers.get("X-Request-Id"),
    ip: IP,
    userAgent: USER_AGENT,
    ...expected,
  });
  expect(Math.abs(Date.parse(event.at) - Date.now())).toBeLessThan(60_000);
  return event;
}

describe("every change sends exactly its one audit event", () => {
  it("POST /workspace sends workspace.created", async () => {
    const owner = newUser("owner");
    const request = await send("POST", "/workspace", {
      as: owner,
      body: { name: "Acme" },
      headers: client,
    });
    const workspaceId = request.response.body.id;
    onlyEvent(request, {
      type: "workspace.created",
      actorId: owner,
      workspaceId,
      targetId: workspaceId,
      changes: { name: { after: "Acme" } },
    });
  });

  it("POST /workspace/{id}/users sends workspace.member_added", async () => {
    const { admin, workspaceId } = await team();
    const newcomer = newUser("newcomer");
    const request = await send("POST", `/workspace/${workspaceId}/users`, {
      as: admin,
      body: { userId: newcomer, role: "WRITE" },
      headers: client,
    });
    onlyEvent(request, {
      type: "workspace.member_added",
      actorId: admin,
      workspaceId,
      targetId: newcomer,
      changes: { userId: { after: newcomer }, role: { after: "WRITE" } },
    });
  });

  it("PUT /workspace/{id}/users/{userId} sends workspace.member_updated with the role before and after", async () => {
    const { admin, writer, workspaceId } = await team();
    const request = await send("PUT", `/workspace/${workspaceId}/users/${writer}`, {
      as: admin,
      body: { role: "READ" },
      headers: client,
    });
    onlyEvent(request, {
      type: "workspace.member_updated",
      actorId: admin,
      workspaceId,
      targetId: writer,
      changes: { role: { before: "WRITE", after: "READ" } },
    });
  });

  it("DELETE /workspace/{id}/users/{userId} sends workspace.member_removed", async () => {
    const { admin, reader, workspaceId } = await team();
    const request = await send("DELETE", `/workspace/${workspaceId}/users/${reader}`, {
      as: admin,
      headers: client,
    });
    onlyEvent(request, {
      type: "workspace.member_removed",
      actorId: admin,
      workspaceId,
      targetId: reader,
      changes: { userId: { before: reader }, role: { before: "READ" } },
    });
  });

  it("POST /repo sends repo.created", async () => {
    const { writer, workspaceId } = await team();
    const request = await send("POST", "/repo", {
      as: writer,
      body: { name: "photos", workspaceId },
      headers: client,
    });
    const repoId = request.response.body.id;
    onlyEvent(request, {
      type: "repo.created",
      actorId: writer,
      workspaceId,
      repoId,
      targetId: repoId,
      changes: { name: { after: "photos" } },
    });
  });

  it("POST /repo/{id}/apikey sends apikey.created with name, access type and key, not the secret", async () => {
    const { writer, workspaceId, repoId } = await team();
    const request = await send("POST", `/repo/${repoId}/apikey`, {
      as: writer,
      body: { name: "CI Bot", accessType: "WRITE" },
      headers: client,
    });
    const { id, key, secret } = request.response.body;
    onlyEvent(request, {
      type: "apikey.created",
      actorId: writer,
      workspaceId,
      repoId,
      targetId: id,
      changes: { name: { after: "CI Bot" }, accessType: { after: "WRITE" }, key: { after: key } },
    });
    expect(JSON.stringify(request.sent)).not.toContain(secret);
  });

  it("PUT /repo/{id}/apikey/{keyId} sends apikey.updated with what changed, before and after", async () => {
    const { admin, workspaceId, repoId } = await team();
    const { id } = await createStorageKey(admin, repoId, { name: "CI Bot", accessType: "READ" });
    const request = await send("PUT", `/repo/${repoId}/apikey/${id}`, {
      as: admin,
      body: { name: "Deploy Bot", accessType: "WRITE" },
      headers: client,
    });
    onlyEvent(request, {
      type: "apikey.updated",
      actorId: admin,
      workspaceId,
      repoId,
      targetId: id,
      changes: {
        name: { before: "CI Bot", after: "Deploy Bot" },
        accessType: { before: "READ", after: "WRITE" },
      },
    });
  });

  it("DELETE /repo/{id}/apikey/{keyId} sends apikey.deleted", async () => {
    const { admin, workspaceId, repoId } = await team();
    const { id } = await createStorageKey(admin, repoId, { name: "CI Bot" });
    const request = await send("DELETE", `/repo/${repoId}/apikey/${id}`, {
      as: admin,
      headers: client,
    });
    onlyEvent(request, {
      type: "apikey.deleted",
      actorId: admin,
      workspaceId,
      repoId,
      targetId: id,
      changes: { name: { before: "CI Bot" } },
    });
  });

  it("POST /repo/{id}/ai/apikey sends ai_apikey.created with name, AI type and key, not the secret", async () => {
    const { writer, workspaceId, repoId } = await team();
    const request = await send("POST", `/repo/${repoId}/ai/apikey`, {
      as: writer,
      body: { name: "Gateway", aiType: "ANTHROPIC" },
      headers: client,
    });
    const { id, key, secret } = request.response.body;
    onlyEvent(request, {
      type: "ai_apikey.created",
      actorId: writer,
      workspaceId,
      repoId,
      targetId: id,
      changes: { name: { after: "Gateway" }, aiType: { after: "ANTHROPIC" }, key: { after: key } },
    });
    expect(JSON.stringify(request.sent)).not.toContain(secret);
  });

  it("PUT /repo/{id}/ai/apikey/{keyId} sends ai_apikey.updated with the name before and after", async () => {
    const { writer, workspaceId, repoId } = await team();
    const { id } = await createAiKey(writer, repoId, { name: "Gateway" });
    const request = await send("PUT", `/repo/${repoId}/ai/apikey/${id}`, {
      as: writer,
      body: { name: "Proxy" },
      headers: client,
    });
    onlyEvent(request, {
      type: "ai_apikey.updated",
      actorId: writer,
      workspaceId,
      repoId,
      targetId: id,
      changes: { name: { before: "Gateway", after: "Proxy" } },
    });
  });

  it("DELETE /repo/{id}/ai/apikey/{keyId} sends ai_apikey.deleted", async () => {
    const { admin, workspaceId, repoId } = await team();
    const { id } = await createAiKey(admin, repoId, { name: "Gateway" });
    const request = await send("DELETE", `/repo/${repoId}/ai/apikey/${id}`, {
      as: admin,
      headers: client,
    });
    onlyEvent(request, {
      type: "ai_apikey.deleted",
      actorId: admin,
      workspaceId,
      repoId,
      targetId: id,
      changes: { name: { before: "Gateway" } },
    });
  });

  it("records a missing IP and user agent as null", async () => {
    const owner = newUser("owner");
    const request = await send("POST", "/workspace", { as: owner, body: { name: "Bare" } });
    expect(request.response.status, request.response.text).toBe(200);
    expect(request.sent).toEqual([expect.objectContaining({ ip: null, userAgent: null })]);
  });
});

describe("a refused request sends no event", () => {
  const refusals: [string, (t: Awaited<ReturnType<typeof team>>) => Promise<SentRequest>][] = [
    [
      "creating a workspace without a name (400)",
      (t) => send("POST", "/workspace", { as: t.admin, body: {} }),
    ],
    [
      "a WRITE member adding a member (403)",
      (t) =>
        send("POST", `/workspace/${t.workspaceId}/users`, {
          as: t.writer,
          body: { userId: newUser(), role: "READ" },
        }),
    ],
    [
      "a READ member changing a role (403)",
      (t) =>
        send("PUT", `/workspace/${t.workspaceId}/users/${t.writer}`, {
          as: t.reader,
          body: { role: "ADMIN" },
        }),
    ],
    [
      "an outsider removing a member (403)",
      (t) => send("DELETE", `/workspace/${t.workspaceId}/users/${t.reader}`, { as: t.outsider }),
    ],
    [
      "demoting the last ADMIN (409)",
      (t) =>
        send("PUT", `/workspace/${t.workspaceId}/users/${t.admin}`, {
          as: t.admin,
          body: { role: "READ" },
        }),
    ],
    [
      "a READ member creating a repo (403)",
      (t) =>
        send("POST", "/repo", { as: t.reader, body: { name: "nope", workspaceId: t.workspaceId } }),
    ],
    [
      "a READ member creating a storage key (403)",
      (t) =>
        send("POST", `/repo/${t.repoId}/apikey`, {
          as: t.reader,
          body: { name: "k", accessType: "READ" },
        }),
    ],
    [
      "a WRITE member creating an ADMIN key (403)",
      (t) =>
        send("POST", `/repo/${t.repoId}/apikey`, {
          as: t.writer,
          body: { name: "k", accessType: "ADMIN" },
        }),
    ],
    [
      "a storage key with an unknown access type (400)",
      (t) =>
        send("POST", `/repo/${t.repoId}/apikey`, {
          as: t.admin,
          body: { name: "k", accessType: "ROOT" },
        }),
    ],
    [
      "a READ member creating an AI key (403)",
      (t) =>
        send("POST", `/repo/${t.repoId}/ai/apikey`, {
          as: t.reader,
          body: { name: "k", aiType: "OPENAI" },
        }),
    ],
    [
      "an AI key with an unknown type (400)",
      (t) =>
        send("POST", `/repo/${t.repoId}/ai/apikey`, {
          as: t.admin,
          body: { name: "k", aiType: "MISTRAL" },
        }),
    ],
  ];

  for (const [what, refuse] of refusals) {
    it(what, async () => {
      const t = await team();
      const { response, sent } = await refuse(t);
      expect(response.status, response.text).toBeGreaterThanOrEqual(400);
      expect(sent).toEqual([]);
    });
  }

  it("a READ member changing or deleting either kind of key (403)", async () => {
    const { admin, reader, repoId } = await team();
    const storage = await createStorageKey(admin, repoId);
    const ai = await createAiKey(admin, repoId);
    const attempts = [
      send("PUT", `/repo/${repoId}/apikey/${storage.id}`, {
        as: reader,
        body: { name: "x", accessType: "READ" },
      }),
      send("DELETE", `/repo/${repoId}/apikey/${storage.id}`, { as: reader }),
      send("PUT", `/repo/${repoId}/ai/apikey/${ai.id}`, { as: reader, body: { name: "x" } }),
      send("DELETE", `/repo/${repoId}/ai/apikey/${ai.id}`, { as: reader }),
    ];
    for (const { response, sent } of await Promise.all(attempts)) {
      expect(response.status, response.text).toBe(403);
      expect(sent).toEqual([]);
    }
  });

  it("reads send nothing either", async () => {
    const { admin, workspaceId, repoId } = await team();
    for (const path of [
      "/workspace",
      `/workspace/${workspaceId}/users`,
      "/repo",
      `/repo/${repoId}`,
      `/repo/${repoId}/apikey`,
      `/repo/${repoId}/ai/apikey`,
      `/repo/${repoId}/audit`,
      `/workspace/${workspaceId}/audit`,
    ]) {
      const { response, sent } = await send("GET", path, { as: admin });
      expect(response.status, `${path}: ${response.text}`).toBe(200);
      expect(sent, path).toEqual([]);
    }
  });
});

describe("through the Worker and its Queue, into D1", () => {
  it("stores one event per change, with the request's id, and no secret, ciphertext or token", async () => {
    const admin = newUser("admin");
    const member = newUser("member");
    const token = await tokenFor(admin);
    const as = { authorization: `Bearer ${token}`, headers: client };
    const expected = new Map<string, string>(); // requestId → type
    const forbidden: string[] = [token];
    const request = async (type: string, method: string, path: string, body?: unknown) => {
      const response = await call(method, path, { ...as, body });
      expect(response.status, response.text).toBeLessThan(300);
      expected.set(response.headers.get("X-Request-Id") as string, type);
      return response.body;
    };
    const sealedSecret = async (table: string, id: string) =>
      (await env.DB.prepare(`SELECT sealed_secret FROM ${table} WHERE id = ?`)
        .bind(id)
        .first<string>("sealed_secret")) as string;

    const { id: workspaceId } = await request("workspace.created", "POST", "/workspace", {
      name: "Lifecycle",
    });
    const users = `/workspace/${workspaceId}/users`;
    await request("workspace.member_added", "POST", users, { userId: member, role: "WRITE" });
    await request("workspace.member_updated", "PUT", `${users}/${member}`, { role: "READ" });
    await request("workspace.member_removed", "DELETE", `${users}/${member}`);
    const { id: repoId } = await request("repo.created", "POST", "/repo", {
      name: "lifecycle",
      workspaceId,
    });
    const storage = await request("apikey.created", "POST", `/repo/${repoId}/apikey`, {
      name: "CI Bot",
      accessType: "WRITE",
    });
    forbidden.push(storage.secret, await sealedSecret("storage_keys", storage.id));
    await request("apikey.updated", "PUT", `/repo/${repoId}/apikey/${storage.id}`, {
      name: "CI",
      accessType: "READ",
    });
    await request("apikey.deleted", "DELETE", `/repo/${repoId}/apikey/${storage.id}`);
    const ai = await request("ai_apikey.created", "POST", `/repo/${repoId}/ai/apikey`, {
      name: "Gateway",
      aiType: "OPENAI",
    });
    forbidden.push(ai.secret, await sealedSecret("ai_keys", ai.id));
    await request("ai_apikey.updated", "PUT", `/repo/${repoId}/ai/apikey/${ai.id}`, {
      name: "Proxy",
    });
    await request("ai_apikey.deleted", "DELETE", `/repo/${repoId}/ai/apikey/${ai.id}`);

    const rows = await waitForEvents({ workspaceId }, expected.size);
    expect(new Map(rows.map((row) => [row.request_id, row.type]))).toEqual(expected);
    expect(rows).toHaveLength(expected.size);
    for (const row of rows) {
      expect(row).toMatchObject({ actor_id: admin, ip: IP, user_agent: USER_AGENT });
    }
    const stored = JSON.stringify(rows);
    for (const value of forbidden) expect(stored).not.toContain(value);
    expect(stored).not.toContain("aesgcm.");
  }, 30_000);
});
