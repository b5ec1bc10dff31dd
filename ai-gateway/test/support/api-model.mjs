import { RpcTarget, WorkerEntrypoint } from "cloudflare:workers";

/**
 * A model of the API's KeyVerifier entrypoint for the AI gateway's in-process tests
 * (vitest.config.ts binds it as "flashgate-apikeys"), with the AiCall its VALID answers carry.
 * Secrets describe themselves, so tests need no table:
 *   "ok.<AI type>[.<model>,<model>…]"  a VALID key of that type (with that allow-list)
 *   "REVOKED" | "DISABLED" | "EXPIRED" | "INVALID"   refused with that code
 *   "RATE_LIMITED[.<seconds to reset>]"  refused RATE_LIMITED (with a ratelimit state)
 *   "down"  the verifier throws (an unreachable API); "failure" answers success: false;
 *   "old.<AI type>"  VALID without an aiCall (an API older than the gateway)
 * aiCall.forward answers, for a request's model:
 *   "no-provider"  NO_PROVIDER (400); "unreachable"  UPSTREAM_UNREACHABLE (502);
 *   "upstream-429"  the provider's own 429 with its body; "sse"  a three-event stream;
 *   anything else  200 with the request it was given and the key it was made for, as JSON.
 */

const KEY_ID = "c8e4f1a2-6d3b-4e9f-a7c5-1b0d2e8f9a63";
const REPO_ID = "0b5a7d2e-91c4-4f3a-8e6b-5c2d1a9f7e40";

export class KeyVerifier extends WorkerEntrypoint {
  async verifyAiSecret({ secret }) {
    if (secret === "down") throw new Error("the API is down");
    if (secret === "failure") {
      return { success: false, code: "INTERNAL", message: "failed", requestId: "r1" };
    }
    const [code, type, models] = secret.split(".");
    if (code === "ok" || code === "old") {
      const key = {
        success: true,
        valid: true,
        code: "VALID",
        keyId: KEY_ID,
        key: "FB_AI_MODEL",
        repoId: REPO_ID,
        workspaceId: "ws",
        aiType: type,
        ...(models === undefined ? {} : { models: models ? models.split(",") : [] }),
      };
      return code === "ok" ? { ...key, aiCall: new AiCall(key) } : key;
    }
    return {
      success: true,
      valid: false,
      code,
      message: `model says ${code}`,
      ...(code === "RATE_LIMITED" && type
        ? { ratelimit: { limit: 10, remaining: 0, reset: Date.now() + Number(type) * 1000 } }
        : {}),
    };
  }
}

class AiCall extends RpcTarget {
  #key;
  constructor(key) {
    super();
    this.#key = key;
  }

  async forward(input) {
    const received = { ...input, key: { keyId: this.#key.keyId, aiType: this.#key.aiType } };
    const model = input.body ? JSON.parse(input.body).model : undefined;
    if (model === "no-provider") {
      return { success: false, status: 400, code: "NO_PROVIDER", message: "No provider key set" };
    }
    if (model === "unreachable") {
      return { success: false, status: 502, code: "UPSTREAM_UNREACHABLE", message: "unreachable" };
    }
    if (model === "upstream-429") {
      return {
        success: true,
        response: Response.json(
          { error: { message: "slow down", type: "requests", code: "rate_limit_exceeded" } },
          { status: 429, headers: { "retry-after": "7" } },
        ),
      };
    }
    if (model === "sse") {
      const events = ["one", "two", "three"].map((word) => `data: {"word":"${word}"}\n\n`);
      return {
        success: true,
        response: new Response(events.join(""), {
          headers: { "content-type": "text/event-stream" },
        }),
      };
    }
    if (input.path === "/v1/models") {
      return {
        success: true,
        response: Response.json({ object: "list", data: [{ id: "a" }, { id: "b" }, { id: "c" }] }),
      };
    }
    return { success: true, response: Response.json(received) };
  }
}

export default { fetch: () => new Response("the API model serves RPC only", { status: 404 }) };
