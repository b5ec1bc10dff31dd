import type { AiAnswer, RefusedAiKey, VerifiedAiKey } from "./api";
import { AiError } from "./errors";

const logLine = (level: "warn" | "error", message: string, fields: Record<string, unknown>) =>
  console[level](JSON.stringify({ level, message, ...fields }));

/** Seconds until a rate limit's reset (epoch ms), at least 1; 60 when the API does not say. */
export function retryAfterSeconds(ratelimit: RefusedAiKey["ratelimit"], now = Date.now()) {
  if (!ratelimit || !Number.isFinite(ratelimit.reset)) return 60;
  return Math.max(1, Math.ceil((ratelimit.reset - now) / 1000));
}

function refusal(answer: RefusedAiKey): AiError {
  switch (answer.code) {
    case "RATE_LIMITED": {
      const headers: Record<string, string> = {
        "Retry-After": String(retryAfterSeconds(answer.ratelimit)),
      };
      if (answer.ratelimit) {
        headers["X-RateLimit-Limit"] = String(answer.ratelimit.limit);
        headers["X-RateLimit-Remaining"] = String(answer.ratelimit.remaining);
      }
      return new AiError(429, "rate_limited", answer.message, headers);
    }
    case "REVOKED":
      return new AiError(401, "key_revoked", `This AI key was revoked: ${answer.message}`);
    case "DISABLED":
      return new AiError(401, "key_disabled", `This AI key is disabled: ${answer.message}`);
    case "EXPIRED":
      return new AiError(401, "key_expired", `This AI key has expired: ${answer.message}`);
    default:
      return new AiError(401, "invalid_api_key", "Invalid API key: not a secret of any AI key");
  }
}

/** Who holds a secret: the API's answer to `verifyAiSecret` (`asked`); every other answer is
 * thrown as an AiError. */
export async function verifiedKey(asked: Promise<AiAnswer>): Promise<VerifiedAiKey> {
  let answer: AiAnswer;
  try {
    answer = await asked;
  } catch (error) {
    logLine("error", "the key verifier could not be reached", {
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
    throw new AiError(503, "service_unavailable", "The key service is unavailable; try again");
  }
  if (!answer.success) {
    // A secret the verifier would not even look at (too long) is no key's.
    if (answer.code === "VALIDATION_FAILED" || answer.code === "BAD_REQUEST") {
      throw new AiError(401, "invalid_api_key", "Invalid API key: not a secret of any AI key");
    }
    logLine("warn", "the key verifier refused the question", {
      code: answer.code,
      verifierRequestId: answer.requestId,
    });
    throw new AiError(503, "service_unavailable", "The key service is unavailable; try again");
  }
  if (!answer.valid) throw refusal(answer);
  return answer;
}

/** Refuses a model outside the key's allow-list (none set: any model). */
export function requireModelAllowed(key: VerifiedAiKey, model: string): void {
  if (Array.isArray(key.models) && !key.models.includes(model)) {
    throw new AiError(
      403,
      "model_not_allowed",
      `This key may not use the model "${model.slice(0, 200)}"; it may use: ${key.models.join(", ") || "none"}`,
    );
  }
}
