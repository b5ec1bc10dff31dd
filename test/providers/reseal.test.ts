import {
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Bindings } from "../../src/env";
import worker from "../../src/index";
import { providerFor } from "../../src/providers/store";
import { team } from "../support/api";
import { TEST_BINDINGS } from "../support/bindings";
import { providerKey, providerRow, setProviderOk } from "./support";

// Rotates the keyring of the whole database: listed in vitest.config.ts's WHOLE_DATABASE.

/** A fresh key put first in the test keyring ("t2" seals today, "t1" opens). */
function rotated() {
  const raw = crypto.getRandomValues(new Uint8Array(32));
  const entry = `t9:${btoa(String.fromCharCode(...raw))}`;
  return {
    rotating: { ...env, ENCRYPTION_KEYS: `${entry},${TEST_BINDINGS.ENCRYPTION_KEYS}` } as Bindings,
    /** The new key alone: what is left once the old ones are dropped. */
    newKeyOnly: { ...env, ENCRYPTION_KEYS: entry } as Bindings,
  };
}

describe("provider keys after a keyring rotation", () => {
  it("are re-sealed by the cron under the new key, which alone then opens them", async () => {
    const { admin, repoId } = await team();
    const openai = providerKey("openai");
    const other = providerKey("other");
    await setProviderOk(admin, repoId, "OPENAI", { apiKey: openai });
    await setProviderOk(admin, repoId, "OTHER", {
      apiKey: other,
      baseUrl: "https://llm.example.com/v1",
    });
    const before = await providerRow(repoId, "OPENAI");
    expect(before?.sealed_api_key).toMatch(/^aesgcm\.t2\./);
    const { rotating, newKeyOnly } = rotated();
    // Before the sweep the new key alone cannot open what t2 sealed.
    await expect(providerFor(newKeyOnly, repoId, "OPENAI")).rejects.toThrow();

    const ctx = createExecutionContext();
    await worker.scheduled?.(createScheduledController({ cron: "*/10 * * * *" }), rotating, ctx);
    await waitOnExecutionContext(ctx);

    const after = await providerRow(repoId, "OPENAI");
    expect(after?.sealed_api_key).toMatch(/^aesgcm\.t9\./);
    expect(JSON.stringify(after)).not.toContain(openai);
    // Only the sealed key moved: what lists show is as it was.
    expect({ ...after, sealed_api_key: "" }).toEqual({ ...before, sealed_api_key: "" });
    expect(await providerFor(newKeyOnly, repoId, "OPENAI")).toEqual({
      aiType: "OPENAI",
      apiKey: openai,
      baseUrl: "https://api.openai.com/v1",
    });
    expect(await providerFor(newKeyOnly, repoId, "OTHER")).toEqual({
      aiType: "OTHER",
      apiKey: other,
      baseUrl: "https://llm.example.com/v1",
    });
  });
});
