import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Bindings } from "../../src/env";
import { providerFor } from "../../src/providers/store";
import { call, team } from "../support/api";
import { callWith } from "../support/keys";
import { providerKey, repoEvents, setProvider } from "./support";

afterEach(() => {
  vi.restoreAllMocks();
});

/** Every line the Worker writes to the console while `run` runs. */
async function consoleDuring(run: () => Promise<void>): Promise<string> {
  const lines: string[] = [];
  for (const method of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      lines.push(
        args.map((arg) => (typeof arg === "string" ? arg : JSON.stringify(arg))).join(" "),
      );
    });
  }
  await run();
  return lines.join("\n");
}

describe("a provider key", () => {
  it("appears in no answer, log line or audit event, whatever is done with it", async () => {
    const { admin, reader, repoId } = await team();
    const apiKey = providerKey("secret");
    const answers: string[] = [];
    const logged = await consoleDuring(async () => {
      const set = await setProvider(admin, repoId, "OPENAI", { apiKey });
      expect(set.status, set.text).toBe(200);
      answers.push(set.text);
      // Refused attempts carrying the key: a bad base URL, a reader, an unknown field.
      for (const [as, body] of [
        [admin, { apiKey, baseUrl: "https://10.0.0.1/v1" }],
        [reader, { apiKey }],
        [admin, { apiKey, extra: apiKey }],
      ] as const) {
        const refused = await setProvider(as, repoId, "OPENAI", body);
        expect(refused.status).toBeGreaterThanOrEqual(400);
        answers.push(refused.text);
      }
      // A malformed body quoting the key: refused before it is parsed.
      const malformed = await call("PUT", `/repo/${repoId}/ai/provider/OPENAI`, {
        as: admin,
        body: `{"apiKey": "${apiKey}",`,
      });
      expect(malformed.status).toBe(400);
      answers.push(malformed.text);
      // Lists never open a key: with a keyring that cannot open it, the list still answers.
      const broken = await callWith(
        { ENCRYPTION_KEYS: "x1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" },
        "GET",
        `/repo/${repoId}/ai/provider`,
        { as: reader },
      );
      expect(broken.status, broken.text).toBe(200);
      answers.push(broken.text);
      answers.push((await call("GET", `/repo/${repoId}/ai/provider`, { as: reader })).text);
      expect((await providerFor(env as Bindings, repoId, "OPENAI"))?.apiKey).toBe(apiKey);
      const removed = await call("DELETE", `/repo/${repoId}/ai/provider/OPENAI`, { as: admin });
      expect(removed.status).toBe(204);
    });
    const events = [
      ...(await repoEvents(repoId, "ai_provider.set")),
      ...(await repoEvents(repoId, "ai_provider.removed")),
    ];
    expect(events.length).toBeGreaterThanOrEqual(2);
    for (const [where, text] of [
      ["answers", answers.join("\n")],
      ["logs", logged],
      ["audit events", JSON.stringify(events)],
    ] as const) {
      expect(text, where).not.toContain(apiKey);
      // Nor any long piece of it (the last 4 characters alone are shown).
      expect(text, where).not.toContain(apiKey.slice(0, -4));
      expect(text, where).not.toContain(apiKey.slice(8, 24));
    }
  });
});
