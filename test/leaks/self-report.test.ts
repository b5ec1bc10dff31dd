import { describe, expect, it } from "vitest";
import { newStorageCredentials } from "../../src/crypto/credentials";
import { call, expectError, newUser, team } from "../support/api";
import { auditEventsOf } from "../support/audit";
import { createAiKey, createStorageKey, keyRow } from "../support/keys";

const report = (as: string, body: unknown) => call("POST", "/leaks", { as, body });

describe("POST /leaks (I leaked this secret)", () => {
  it("disables the key and tells a caller who may see it which key it was", async () => {
    const { admin, reader, repoId } = await team();
    const key = await createStorageKey(admin, repoId, { name: "deploy bot" });
    const response = await report(reader, {
      secret: key.secret,
      url: "https://pastebin.example/abc",
    });
    expect(response.status, response.text).toBe(200);
    expect(response.body).toEqual({
      success: true,
      found: true,
      key: { kind: "storage", id: key.id, name: "deploy bot", repoId },
      leakResponse: "disable",
    });
    expect(await keyRow("storage_keys", key.id)).toMatchObject({
      status: "INACTIVE",
      disabled_reason: "LEAKED",
      leak_source: "self_report",
      leak_url: "https://pastebin.example/abc",
    });
    const [event] = await auditEventsOf(key.id, "apikey.leaked");
    expect(event).toMatchObject({ actor_id: reader });
  });

  it("acts for a stranger too, but answers them as for an unknown secret", async () => {
    const { admin, repoId } = await team();
    const key = await createAiKey(admin, repoId);
    const stranger = newUser("stranger");
    const unknown = await report(stranger, { secret: newStorageCredentials().secret });
    const known = await report(stranger, { secret: key.secret });
    expect(known.status).toBe(200);
    expect(known.body).toEqual(unknown.body);
    expect(known.body).toEqual({ success: true, found: false });
    expect(await keyRow("ai_keys", key.id)).toMatchObject({ disabled_reason: "LEAKED" });
  });

  it("finds a storage secret of the form before fbsk_ (no checksum), by its digest", async () => {
    const { admin, repoId } = await team();
    const key = await createStorageKey(admin, repoId);
    const { Keyring } = await import("../../src/crypto/seal");
    const { TEST_BINDINGS } = await import("../support/bindings");
    const { env } = await import("cloudflare:workers");
    const legacy = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY0123456789";
    const digest = await Keyring.parse(TEST_BINDINGS.ENCRYPTION_KEYS).digest(legacy);
    await env.DB.prepare("UPDATE storage_keys SET secret_digest = ? WHERE id = ?")
      .bind(digest, key.id)
      .run();
    const response = await report(admin, { secret: legacy });
    expect(response.body).toMatchObject({ found: true, key: { id: key.id } });
  });

  it("refuses bad input with 400 and changes nothing", async () => {
    const { admin } = await team();
    expectError(await report(admin, {}), 400);
    expectError(await report(admin, { secret: "x", url: "not a url" }), 400);
    expectError(await report(admin, { secret: "x", extra: 1 }), 400);
    expectError(await call("POST", "/leaks", { body: { secret: "x" } }), 401);
  });
});
