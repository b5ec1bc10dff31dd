import { env, exports } from "cloudflare:workers";
import { getTableName, is } from "drizzle-orm";
import { SQLiteTable } from "drizzle-orm/sqlite-core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import * as schema from "../../src/db/schema";
import { team, tokenFor } from "../support/api";
import { createAiKey, createStorageKey } from "../support/keys";
import { gatewayToken } from "../verify/support";
import { type Answer, answerProblems } from "./answers";
import { authorizationFor, type CallerTokens, type RequestPlan, requestFor } from "./arbitraries";
import {
  type DocumentedOperation,
  documentedOperations,
  isCreate,
  itemParamOf,
  readBackOf,
} from "./documented-operations";
import { checkProperty } from "./replay";
import { fieldProblems, isItem, itemsOf, show } from "./round-trip";
import { createdId, fill, type Sent, World } from "./world";

// Every operation the API documents (GET /openapi.json), fuzzed from its own schemas: a new
// operation is fuzzed without a change here. Each run is one request, which must keep:
//  - never a 5xx; always X-Request-Id; an error is the JSON envelope {success:false, message,
//    code, requestId}, a success JSON (or what the document says), a 204 or HEAD bodyless;
//  - a refused request (4xx), or a read, changes no row of any domain table;
//  - an accepted create or update reads back as sent, an accepted delete is gone;
//  - no audit event carries a refused request's id: the queue consumer writes the trail after
//    the answer, so that is checked once at the end, when the trail has stopped growing.
// Replaying a failure: see ./replay.ts.

const worker = (exports as unknown as { default: Fetcher }).default;
const ORIGIN = "https://flashgate.test";

/**
 * Runs per operation: more for those that take a body (where input reaches storage), fewer for
 * the others; about 500 requests for the ~25 operations, well under a minute.
 */
const runsFor = (operation: DocumentedOperation) => (operation.body ? 30 : 12);

const document = await (await worker.fetch(`${ORIGIN}/openapi.json`)).json();
const operations = documentedOperations(document as Record<string, unknown>);

interface Received extends Answer {
  body: unknown;
}

async function send(sent: Sent): Promise<Received> {
  const method = sent.method;
  // fetch() cannot send a body with GET or HEAD; over real HTTP the e2e variant does.
  const bodyless = /^(GET|HEAD)$/i.test(method);
  const response = await worker.fetch(`${ORIGIN}${sent.target}`, {
    method,
    headers: sent.headers,
    body: bodyless ? undefined : sent.body,
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, header: (name) => response.headers.get(name), text, body };
}

/** The domain tables, read off the Drizzle schema; the audit trail has its own check below. */
const domainTables = (Object.values(schema) as unknown[])
  .filter((value): value is SQLiteTable => is(value, SQLiteTable))
  .map((table) => getTableName(table))
  .filter((name) => name !== getTableName(schema.auditEvents));

/** Every row of every domain table, as text: what a refused request must leave as it was. */
async function snapshot(): Promise<Record<string, string>> {
  const results = await env.DB.batch(
    domainTables.map((name) => env.DB.prepare(`SELECT * FROM "${name}" ORDER BY rowid`)),
  );
  return Object.fromEntries(
    domainTables.map((name, i) => [name, JSON.stringify(results[i]?.results ?? [])]),
  );
}

/** Tables whose rows differ between two snapshots. */
const changedTables = (before: Record<string, string>, after: Record<string, string>) =>
  domainTables.filter((name) => before[name] !== after[name]);

/** Request ids of every refused request, for the audit check at the end. */
const refusedRequestIds: string[] = [];

/**
 * A fresh team for each operation's runs (an ADMIN, a WRITE and a READ member, an outsider, a
 * workspace, a repo, a storage key and an AI key), so one operation's runs cannot leave the next
 * one nothing to work on. Tokens are signed once: a run's requests reuse them.
 */
async function newWorld(): Promise<World> {
  const people = await team();
  const tokens: CallerTokens = {
    admin: await tokenFor(people.admin),
    writer: await tokenFor(people.writer),
    reader: await tokenFor(people.reader),
    outsider: await tokenFor(people.outsider),
    gateway: await gatewayToken(),
  };
  const world = new World(operations, authorizationFor(tokens, tokenFor));
  const { workspaceId, repoId } = people;
  world.remember("workspaceId", "/workspace", workspaceId);
  world.remember("repoId", "/repo", repoId);
  for (const user of [people.admin, people.writer, people.reader, people.outsider]) {
    world.remember("userId", `/workspace/${workspaceId}/users`, user);
  }
  for (const access of ["READ", "ADMIN"]) {
    const { id } = await createStorageKey(people.admin, repoId, { accessType: access });
    world.remember("apikeyId", `/repo/${repoId}/apikey`, id);
  }
  const ai = await createAiKey(people.admin, repoId);
  world.remember("apikeyId", `/repo/${repoId}/ai/apikey`, ai.id);
  return world;
}

const describeSent = (sent: Sent) =>
  `${sent.method} ${sent.target.length > 300 ? `${sent.target.slice(0, 300)}…` : sent.target}\n` +
  `headers: ${show(sent.headers.map(([n, v]) => [n, n === "Authorization" ? `${v.slice(0, 20)}…` : v]))}\n` +
  `body: ${sent.body ? show(new TextDecoder().decode(sent.body).slice(0, 500)) : "(none)"}`;

/**
 * An accepted create or update reads back as sent (from the collection the document lists a GET
 * for at or above the operation's path), and an accepted delete is gone from it.
 */
async function roundTripProblems(
  operation: DocumentedOperation,
  sent: Sent,
  answer: Received,
): Promise<string[]> {
  const collection = readBackOf(operation, operations);
  if (!collection) return [];
  const itemParam = itemParamOf(collection, operations);
  if (!itemParam) return [];
  const create = isCreate(operation, operations);
  const isDelete = operation.method === "DELETE";
  if (!isDelete && !operation.body) return [];
  const idSchema =
    operation.params.find((p) => p.name === itemParam)?.schema ??
    operations.flatMap((o) => o.params).find((p) => p.name === itemParam)?.schema ??
    {};
  let identity: unknown;
  if (create) identity = createdId(answer.body, sent.json, itemParam);
  else {
    const segment = sent.segments[itemParam] ?? "";
    try {
      identity = decodeURIComponent(segment);
    } catch {
      identity = segment;
    }
  }
  const authorization = sent.headers.filter(([name]) => name === "Authorization");
  const read = await send({
    method: "GET",
    target: fill(collection, sent.segments),
    headers: authorization,
    segments: sent.segments,
  });
  const items = itemsOf(read.body);
  if (read.status !== 200 || !items) {
    return [`reading back ${collection} answered ${read.status} ${read.text.slice(0, 300)}`];
  }
  const item = items.find((candidate) => isItem(candidate, identity, itemParam, idSchema));
  if (isDelete) {
    return item ? [`deleted ${show(identity)}, still listed in ${collection}`] : [];
  }
  if (!item) {
    return [`${show(identity)} is not in ${collection} after the ${operation.method}`];
  }
  return fieldProblems(sent.json, operation.body?.schema ?? {}, item);
}

const READ_METHODS = /^(GET|HEAD|OPTIONS)$/i;

async function checkOne(world: World, plan: RequestPlan): Promise<void> {
  const { operation } = plan;
  const sent = await world.materialize(plan);
  const before = await snapshot();
  const answer = await send(sent);
  const after = await snapshot();
  const problems = answerProblems(sent.method, operation, answer);

  const refused = answer.status >= 400;
  if (refused || READ_METHODS.test(sent.method)) {
    const changed = changedTables(before, after);
    if (changed.length > 0) {
      problems.push(`a ${refused ? "refused request" : "read"} changed ${changed.join(", ")}`);
    }
  }
  const requestId = answer.header("X-Request-Id");
  if (refused && requestId) refusedRequestIds.push(requestId);

  const accepted = answer.status >= 200 && answer.status < 300;
  if (accepted && sent.method.toUpperCase() === operation.method && problems.length === 0) {
    problems.push(...(await roundTripProblems(operation, sent, answer)));
    world.rememberCreated(operation, sent, answer.body);
  }
  if (problems.length > 0) {
    throw new Error(
      `${problems.join("; ")}\n${describeSent(sent)}\n→ ${answer.status} ` +
        `${answer.header("Content-Type")} ${answer.text.slice(0, 500)}`,
    );
  }
}

describe("every documented operation, fuzzed from its schemas", () => {
  it("the document lists the API's operations", () => {
    expect(operations.length).toBeGreaterThanOrEqual(20);
    expect(domainTables).toEqual(
      expect.arrayContaining([
        "workspaces",
        "workspace_members",
        "repos",
        "storage_keys",
        "ai_keys",
      ]),
    );
  });

  for (const operation of operations) {
    const name = `${operation.id}: no 5xx, always the envelope, refusals write nothing, accepted writes read back`;
    it(name, async () => {
      const world = await newWorld();
      await checkProperty(
        name,
        fc.asyncProperty(requestFor(operation, operations), (plan) => checkOne(world, plan)),
        runsFor(operation),
      );
    }, 60_000);
  }

  it("no audit event carries the request id of a refused request", async () => {
    // Events arrive through the queue about a second after their request: wait until the
    // trail stops growing, then look for any refused request's id in it.
    const count = async () =>
      (await env.DB.prepare("SELECT count(*) AS n FROM audit_events").first<{ n: number }>())?.n;
    let last = await count();
    for (let stable = 0, deadline = Date.now() + 15_000; stable < 8 && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      const now = await count();
      stable = now === last ? stable + 1 : 0;
      last = now;
    }
    expect(last).toBeGreaterThan(0);
    expect(refusedRequestIds.length).toBeGreaterThan(0);
    const { results } = await env.DB.prepare(
      "SELECT request_id, type FROM audit_events WHERE request_id IN (SELECT value FROM json_each(?))",
    )
      .bind(JSON.stringify(refusedRequestIds))
      .all();
    expect(results).toEqual([]);
  }, 30_000);
});
