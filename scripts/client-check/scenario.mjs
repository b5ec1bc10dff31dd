// What a user of the installed package does, run both in Node and in a Worker, against the real
// Worker under `npm run dev`. It imports the package by its name, so it only resolves inside the
// temp project the tarball is installed in.
import { FlashgateClient, FlashgateError } from "@flashgate/client";

function check(condition, what) {
  if (!condition) throw new Error(`client check failed: ${what}`);
}

async function rejection(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("client check failed: expected the call to throw");
}

/** Every method of the client, each checked against what the API answered. */
export async function run({
  baseUrl,
  adminToken,
  memberToken,
  memberId,
  outsiderToken,
  gatewayToken,
}) {
  const noBase = await rejection((async () => new FlashgateClient({ accessToken: adminToken }))());
  check(noBase instanceof TypeError && /baseUrl/.test(noBase.message), "no baseUrl names baseUrl");

  const admin = new FlashgateClient({ accessToken: adminToken, baseUrl });
  const member = new FlashgateClient({ accessToken: memberToken, baseUrl: `${baseUrl}/` });
  const outsider = new FlashgateClient({ accessToken: outsiderToken, baseUrl });
  const gateway = new FlashgateClient({ accessToken: gatewayToken, baseUrl });

  const workspace = await admin.workspaces.create({ name: "Client check" });
  check(workspace.success && workspace.name === "Client check", "workspaces.create");
  const { workspaces } = await admin.workspaces.list();
  check(
    workspaces.some((w) => w.id === workspace.id && w.role === "ADMIN"),
    "workspaces.list",
  );
  await admin.workspaces.members.add(workspace.id, { userId: memberId, role: "READ" });
  await admin.workspaces.members.update(workspace.id, memberId, { role: "WRITE" });
  const { users } = await admin.workspaces.members.list(workspace.id);
  check(
    users.some((u) => u.userId === memberId && u.role === "WRITE"),
    "members.list",
  );

  const repo = await member.repos.create({ name: "assets", workspaceId: workspace.id });
  check((await admin.repos.get(repo.id)).repo.workspaceId === workspace.id, "repos.get");
  const { repos } = await member.repos.list({ workspaceId: workspace.id });
  check(repos.length === 1 && repos[0].id === repo.id, "repos.list");

  const created = await member.apiKeys.create(repo.id, { name: "CI Bot", access: "READ" });
  check(/^FBAK/.test(created.key) && created.secret.length === 40, "apiKeys.create (access alias)");
  const listed = await admin.apiKeys.list(repo.id);
  check(listed.keys.length === 1 && listed.keys[0].accessType === "READ", "apiKeys.list");
  check(!JSON.stringify(listed).includes(created.secret), "a list never carries the secret");
  await member.apiKeys.update(repo.id, created.id, { name: "CI Bot", accessType: "WRITE" });
  check((await admin.apiKeys.list(repo.id)).keys[0].accessType === "WRITE", "apiKeys.update");
  const deleted = await admin.apiKeys.delete(repo.id, created.id);
  check(deleted.success && (await admin.apiKeys.list(repo.id)).keys.length === 0, "apiKeys.delete");
  const again = await rejection(admin.apiKeys.delete(repo.id, created.id));
  check(again instanceof FlashgateError && again.status === 404, "a second delete is a 404");

  const ai = await member.aiApiKeys.create(repo.id, { name: "Gateway", aiType: "OPENAI" });
  check(/^FB_AI_/.test(ai.key) && /^fbai_sk_/.test(ai.secret), "aiApiKeys.create");
  const verified = await gateway.verify.ai({ secret: ai.secret });
  check(verified.valid && verified.keyId === ai.id && verified.repoId === repo.id, "verify.ai");
  check(!JSON.stringify(verified).includes(ai.secret), "a verification never carries the secret");
  const unsigned = await gateway.verify.s3({
    method: "GET",
    url: `https://s3.example.com/${repo.id}/a.txt`,
    headers: { host: "s3.example.com" },
  });
  check(
    !unsigned.valid && unsigned.code === "NOT_SIGNED" && unsigned.s3Error === "AccessDenied",
    "verify.s3 refuses an unsigned request as S3 does (AccessDenied)",
  );
  const asUser = await rejection(admin.verify.ai({ secret: ai.secret }));
  check(asUser instanceof FlashgateError && asUser.status === 403, "a user token cannot verify");
  await member.aiApiKeys.update(repo.id, ai.id, { name: "Gateway 2" });
  const { apiKeys } = await admin.aiApiKeys.list(repo.id);
  check(apiKeys.length === 1 && apiKeys[0].name === "Gateway 2", "aiApiKeys.list, update");
  await member.aiApiKeys.delete(repo.id, ai.id);
  check((await admin.aiApiKeys.list(repo.id)).apiKeys.length === 0, "aiApiKeys.delete");

  const forbidden = await rejection(outsider.apiKeys.list(repo.id));
  check(forbidden instanceof FlashgateError, "a 403 throws a FlashgateError");
  check(forbidden.status === 403 && forbidden.code === "FORBIDDEN", "its status and code");
  check(forbidden.message === "Insufficient permissions", "its message");
  check(/^[\w-]{8,}$/.test(forbidden.requestId ?? ""), "its requestId");

  await admin.workspaces.members.remove(workspace.id, memberId);
  check((await admin.workspaces.members.list(workspace.id)).users.length === 1, "members.remove");

  // The audit trail arrives through the Queue, shortly after the changes.
  for (let tries = 0; ; tries++) {
    const repoEvents = (await admin.audit.repo(repo.id, { limit: 50 })).events;
    const page = await admin.audit.workspace(workspace.id, { limit: 2 });
    const types = repoEvents.map((event) => event.type);
    const done = ["apikey.deleted", "ai_apikey.deleted"].every((type) => types.includes(type));
    if (done && page.events.length === 2 && page.nextCursor) {
      const next = await admin.audit.workspace(workspace.id, { limit: 2, cursor: page.nextCursor });
      check(next.events.length > 0 && next.events[0].id !== page.events[0].id, "audit paging");
      break;
    }
    check(tries < 80, "audit events arrived within 20 s");
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return "ok";
}
