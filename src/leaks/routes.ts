import { and, eq } from "drizzle-orm";
import type { Context } from "hono";
import {
  asMember,
  holdsRole,
  repoMembership,
  workspaceMembershipQuery,
} from "../access/membership";
import { authorize, may, permissionTo } from "../access/policy";
import { publishAudit, publishAudits } from "../audit/publish";
import { hex } from "../crypto/hex";
import { database } from "../db/client";
import { readBatch } from "../db/prepared";
import { workspaces } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError, insufficientPermissions } from "../http/error";
import { defineOperation, route } from "../http/operation";
import { validationError } from "../http/validation-error";
import { verifyGithubSignature } from "./github-keys";
import { type LeakResult, respondToLeaks } from "./respond";
import {
  GithubFeedbackSchema,
  GithubReportSchema,
  LeakResponseSettingSchema,
  MAX_REPORT_BYTES,
  MAX_REPORTED_TOKENS,
  SelfReportAnswerSchema,
  SelfReportBodySchema,
  UpdateLeakResponseBodySchema,
  WorkspaceLeakParamsSchema,
} from "./schemas";

/** The actor of the audit events a GitHub report causes. */
export const GITHUB_ACTOR = "github-secret-scanning";

// The OpenAPI document describes only the tags src/http/openapi.ts names.
const leakTags = ["Leaked secrets"];
const workspaceTags = ["Workspaces"];
const MANAGE = permissionTo("workspace.manageLeakResponse");

/** The audit events of the keys a report changed: where the secret was found, never the secret. */
function publishLeaks(c: Context<AppEnv>, result: LeakResult, actorId: string): void {
  publishAudits(
    c,
    result.acted.map(({ key, report }) => ({
      type: key.kind === "storage" ? ("apikey.leaked" as const) : ("ai_apikey.leaked" as const),
      actorId,
      workspaceId: key.workspaceId,
      repoId: key.repoId,
      targetId: key.id,
      changes: {
        leakSource: { after: report.source },
        leakUrl: { after: report.url },
        leakResponse: { after: key.leakResponse },
        ...(key.leakResponse === "disable" ? { status: { after: "INACTIVE" } } : {}),
      },
    })),
  );
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return hex(digest);
}

const tooLarge = () =>
  new ApiError(
    "PAYLOAD_TOO_LARGE",
    `A report may carry at most ${MAX_REPORTED_TOKENS} secrets in ${MAX_REPORT_BYTES / 1_048_576} MiB`,
  );

export const reportGithubLeaks = defineOperation({
  method: "post",
  path: "/secret-scanning/github",
  operationId: "githubSecretScanning",
  summary: "GitHub secret scanning reports (signed by GitHub; no bearer token)",
  tags: leakTags,
  authentication: "githubSignature",
  everyUser: true,
  errors: [413],
  success: {
    status: 200,
    schema: GithubFeedbackSchema,
    description: "A label per token",
  },
});

/**
 * GitHub's partner protocol: a signed JSON array of findings ({token, type, url, source}),
 * answered 200 with one feedback entry per finding. The operation declares no body, so the raw
 * bytes reach this handler unread; nothing is parsed, read or written before the signature
 * verifies.
 */
async function githubSecretScanning(c: Context<AppEnv>) {
  const declared = c.req.header("Content-Length");
  if (declared !== undefined && Number(declared) > MAX_REPORT_BYTES) throw tooLarge();
  const body = new Uint8Array(await c.req.arrayBuffer());
  if (body.byteLength > MAX_REPORT_BYTES) throw tooLarge();
  await verifyGithubSignature(
    c.env.SECRET_SCANNING_KEYS_URL,
    body,
    c.req.header("Github-Public-Key-Identifier"),
    c.req.header("Github-Public-Key-Signature"),
  );
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body));
  } catch {
    throw new ApiError("BAD_REQUEST", "The report is not valid JSON");
  }
  if (Array.isArray(value) && value.length > MAX_REPORTED_TOKENS) throw tooLarge();
  const parsed = GithubReportSchema.safeParse(value, { reportInput: true });
  if (!parsed.success) throw validationError(parsed.error, "json", GithubReportSchema);
  const findings = parsed.data;

  const result = await respondToLeaks(
    c.env,
    findings.map(({ token, source, url }) => ({
      token,
      source: source || "unknown",
      url: url ?? null,
    })),
    { actor: GITHUB_ACTOR },
  );
  publishLeaks(c, result, GITHUB_ACTOR);
  // token_hash, not token_raw: the answer never repeats a secret.
  return Promise.all(
    findings.map(async ({ token, type }, index) => ({
      token_hash: await sha256Hex(token),
      token_type: type,
      label: result.outcomes[index]?.label ?? ("false_positive" as const),
    })),
  );
}

export const reportLeak = defineOperation({
  method: "post",
  path: "/leaks",
  operationId: "reportLeakedSecret",
  summary: "Report a secret of ours that became public",
  tags: leakTags,
  body: SelfReportBodySchema,
  everyUser: true,
  success: {
    status: 200,
    schema: SelfReportAnswerSchema,
    description: "Which key it was, if you may see it",
  },
});

export const getLeakResponse = defineOperation({
  method: "get",
  path: "/workspace/{workspaceId}/leak-response",
  operationId: "getWorkspaceLeakResponse",
  summary: "What a leaked secret does to this workspace's keys",
  tags: workspaceTags,
  params: WorkspaceLeakParamsSchema,
  success: { status: 200, schema: LeakResponseSettingSchema, description: "The setting" },
});

export const updateLeakResponse = defineOperation({
  method: "put",
  path: "/workspace/{workspaceId}/leak-response",
  operationId: "updateWorkspaceLeakResponse",
  summary: "Choose what a leaked secret does to this workspace's keys (ADMIN)",
  tags: workspaceTags,
  params: WorkspaceLeakParamsSchema,
  body: UpdateLeakResponseBodySchema,
  success: { status: 200, schema: LeakResponseSettingSchema, description: "The new setting" },
});

export const leakRoutes = [
  route(reportGithubLeaks, (c) => githubSecretScanning(c)),
  route(reportLeak, async (c, input) => {
    const userId = c.var.userId;
    const { secret, url } = input.body;
    const result = await respondToLeaks(
      c.env,
      [{ token: secret, source: "self_report", url: url ?? null }],
      { actor: userId, legacy: true },
    );
    publishLeaks(c, result, userId);
    const key = result.outcomes[0]?.key;
    if (!key) return { success: true as const, found: false };
    // Whoever holds the secret may stop it; only those who may see the key learn which it was.
    const [membership] = await readBatch(c.env.DB, [
      repoMembership(c.env.DB, { userId, repoId: key.repoId }),
    ]);
    const member = asMember(userId, membership);
    if (!may(member, key.kind === "storage" ? "apikey.list" : "aiApikey.list")) {
      return { success: true as const, found: false };
    }
    return {
      success: true as const,
      found: true,
      key: { kind: key.kind, id: key.id, name: key.name, repoId: key.repoId },
      leakResponse: key.leakResponse,
    };
  }),
  route(getLeakResponse, async (c, input) => {
    const { workspaceId } = input.params;
    const db = database(c.env.DB);
    const [membership, rows] = await db.batch([
      workspaceMembershipQuery(db, c.var.userId, workspaceId),
      db
        .select({ leakResponse: workspaces.leakResponse })
        .from(workspaces)
        .where(eq(workspaces.id, workspaceId)),
    ]);
    authorize(asMember(c.var.userId, membership), "workspace.read");
    const row = rows[0];
    if (!row) throw insufficientPermissions();
    return { success: true as const, leakResponse: row.leakResponse };
  }),
  route(updateLeakResponse, async (c, input) => {
    const { workspaceId } = input.params;
    const { leakResponse } = input.body;
    const userId = c.var.userId;
    const db = database(c.env.DB);
    const [membership, rows] = await db.batch([
      workspaceMembershipQuery(db, userId, workspaceId),
      db
        .select({ leakResponse: workspaces.leakResponse })
        .from(workspaces)
        .where(eq(workspaces.id, workspaceId)),
    ]);
    MANAGE.check(asMember(userId, membership));
    const before = rows[0]?.leakResponse;
    const updated = await db
      .update(workspaces)
      .set({ leakResponse })
      .where(and(eq(workspaces.id, workspaceId), holdsRole(workspaceId, userId, MANAGE.roles)));
    if (updated.meta.changes === 0) throw insufficientPermissions();
    if (before !== leakResponse) {
      publishAudit(c, {
        type: "workspace.leak_response_updated",
        workspaceId,
        targetId: workspaceId,
        changes: { leakResponse: { before: before ?? null, after: leakResponse } },
      });
    }
    return { success: true as const, leakResponse };
  }),
];
