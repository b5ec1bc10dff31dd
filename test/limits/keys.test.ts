import { beforeAll, describe, expect, it } from "vitest";
import { call, expectError, team } from "../support/api";
import { callWith, keyRow, recordingAuditQueue } from "../support/keys";

let t: Awaited<ReturnType<typeof team>>;

beforeAll(async () => {
  t = await team();
});

const KINDS = [
  {
    kind: "storage",
    path: () => `/repo/${t.repoId}/apikey`,
    body: { name: "Limited", accessType: "READ" },
    table: "storage_keys",
    list: "keys",
    event: "apikey",
  },
  {
    kind: "AI",
    path: () => `/repo/${t.repoId}/ai/apikey`,
    body: { name: "Limited", aiType: "OPENAI" },
    table: "ai_keys",
    list: "apiKeys",
    event: "ai_apikey",
  },
] as const;

const BAD_SHAPES: [string, unknown][] = [
  ["limit 0", { limit: 0, periodSeconds: 60 }],
  ["limit above 1000000", { limit: 1_000_001, periodSeconds: 60 }],
  ["a fractional limit", { limit: 1.5, periodSeconds: 60 }],
  ["periodSeconds 1e9", { limit: 5, periodSeconds: 1e9 }],
  ["periodSeconds 0", { limit: 5, periodSeconds: 0 }],
  ["strings", { limit: "5", periodSeconds: "60" }],
  ["no periodSeconds", { limit: 5 }],
  ["an unknown field", { limit: 5, periodSeconds: 60, burst: 10 }],
  ["a number", 5],
  ["a string", "5/60s"],
];

describe.each(KINDS)("a $kind key's ratelimit", ({ path, body, table, list, event }) => {
  it("is stored on create, listed, changed and removed by update, each change audited", async () => {
    const created = await call("POST", path(), {
      as: t.admin,
      body: { ...body, ratelimit: { limit: 5, periodSeconds: 60 } },
    });
    expect(created.status, created.text).toBeLessThan(300);
    const id = created.body.id as string;
    const row = await keyRow(table, id);
    expect(row).toMatchObject({ ratelimit_limit: 5, ratelimit_period_seconds: 60 });

    const listed = async () =>
      ((await call("GET", path(), { as: t.reader })).body[list] as { id: string }[]).find(
        (key) => key.id === id,
      );
    expect(await listed()).toMatchObject({ ratelimit: { limit: 5, periodSeconds: 60 } });
    expect(await listed()).not.toHaveProperty("ratelimitLimit");

    const audit = recordingAuditQueue();
    const raised = await callWith({ AUDIT: audit.queue }, "PUT", `${path()}/${id}`, {
      as: t.admin,
      body: { ratelimit: { limit: 1000, periodSeconds: 3600 } },
    });
    expect(raised.status, raised.text).toBe(200);
    expect(await listed()).toMatchObject({ ratelimit: { limit: 1000, periodSeconds: 3600 } });
    expect(audit.sent).toContainEqual(
      expect.objectContaining({
        type: `${event}.updated`,
        targetId: id,
        changes: {
          ratelimit: {
            before: '{"limit":5,"periodSeconds":60}',
            after: '{"limit":1000,"periodSeconds":3600}',
          },
        },
      }),
    );

    // A rename leaves the limit be.
    const renamed = await call("PUT", `${path()}/${id}`, { as: t.admin, body: { name: "New" } });
    expect(renamed.status).toBe(200);
    expect(await listed()).toMatchObject({ ratelimit: { limit: 1000, periodSeconds: 3600 } });

    const removed = await callWith({ AUDIT: audit.queue }, "PUT", `${path()}/${id}`, {
      as: t.admin,
      body: { ratelimit: null },
    });
    expect(removed.status, removed.text).toBe(200);
    expect(await listed()).toMatchObject({ ratelimit: null });
    expect(await keyRow(table, id)).toMatchObject({
      ratelimit_limit: null,
      ratelimit_period_seconds: null,
    });
    expect(audit.sent.at(-1)).toMatchObject({
      changes: { ratelimit: { before: '{"limit":1000,"periodSeconds":3600}', after: null } },
    });
  });

  it("is recorded in the created event, and absent means none", async () => {
    const audit = recordingAuditQueue();
    const limited = await callWith({ AUDIT: audit.queue }, "POST", path(), {
      as: t.admin,
      body: { ...body, ratelimit: { limit: 1_000_000, periodSeconds: 86_400 } },
    });
    expect(limited.status, limited.text).toBeLessThan(300);
    expect(audit.sent[0]).toMatchObject({
      type: `${event}.created`,
      changes: { ratelimit: { after: '{"limit":1000000,"periodSeconds":86400}' } },
    });
    expect(JSON.stringify(audit.sent)).not.toContain(limited.body.secret);
    const plain = await call("POST", path(), { as: t.admin, body });
    expect(await keyRow(table, plain.body.id)).toMatchObject({
      ratelimit_limit: null,
      ratelimit_period_seconds: null,
    });
  });

  it.each(BAD_SHAPES)("refuses %s with 400, on create and on update", async (_, ratelimit) => {
    const create = await call("POST", path(), { as: t.admin, body: { ...body, ratelimit } });
    expectError(create, 400);
    expect(JSON.stringify(create.body.issues)).toContain("ratelimit");
    const existing = await call("POST", path(), { as: t.admin, body });
    const update = await call("PUT", `${path()}/${existing.body.id}`, {
      as: t.admin,
      body: { ratelimit },
    });
    expectError(update, 400);
    expect(await keyRow(table, existing.body.id)).toMatchObject({ ratelimit_limit: null });
  });

  it("may not be set by a READ member", async () => {
    const existing = await call("POST", path(), { as: t.admin, body });
    const update = await call("PUT", `${path()}/${existing.body.id}`, {
      as: t.reader,
      body: { ratelimit: { limit: 1, periodSeconds: 1 } },
    });
    expectError(update, 403);
    expect(await keyRow(table, existing.body.id)).toMatchObject({ ratelimit_limit: null });
  });
});
