import { describe, expect, it } from "vitest";
import { addMember, call, expectError, newUser, team } from "../support/api";
import { callWith, dbWithConcurrentWrite } from "../support/keys";
import { providerKey, providerRow, setProviderOk } from "./support";

/** A second ADMIN, and the call that demotes them to WRITE. */
async function secondAdmin(admin: string, workspaceId: string) {
  const other = newUser("admin2");
  await addMember(admin, workspaceId, other, "ADMIN");
  const demote = async () => {
    const response = await call("PUT", `/workspace/${workspaceId}/users/${other}`, {
      as: admin,
      body: { role: "WRITE" },
    });
    expect(response.status, response.text).toBe(200);
  };
  return { other, demote };
}

describe("an ADMIN demoted while their provider change is in flight", () => {
  it("sets nothing (403)", async () => {
    const { admin, workspaceId, repoId } = await team();
    const { other, demote } = await secondAdmin(admin, workspaceId);
    const response = await callWith(
      { DB: dbWithConcurrentWrite(demote) },
      "PUT",
      `/repo/${repoId}/ai/provider/OPENAI`,
      { as: other, body: { apiKey: providerKey() } },
    );
    expectError(response, 403, "Insufficient permissions");
    expect(await providerRow(repoId, "OPENAI")).toBeNull();
  });

  it("removes nothing (403)", async () => {
    const { admin, workspaceId, repoId } = await team();
    const kept = providerKey("kept");
    await setProviderOk(admin, repoId, "ANTHROPIC", { apiKey: kept });
    const before = await providerRow(repoId, "ANTHROPIC");
    const { other, demote } = await secondAdmin(admin, workspaceId);
    const response = await callWith(
      { DB: dbWithConcurrentWrite(demote) },
      "DELETE",
      `/repo/${repoId}/ai/provider/ANTHROPIC`,
      { as: other },
    );
    expectError(response, 403, "Insufficient permissions");
    expect(await providerRow(repoId, "ANTHROPIC")).toEqual(before);
  });
});
