import { FlashgateError } from "@flashgate/client";
import { fill, h } from "./dom";
import { sessionRefused } from "./session";

/**
 * What a section tells the user after an action: a polite status line for what went well and
 * an alert for what failed, both placed next to the controls they are about.
 */
export interface Feedback {
  /** Both regions, to put in the page where the action is. */
  readonly element: HTMLElement;
  /** "Key renamed." in the status region; clears the alert. */
  done(message: string): void;
  /** The API's refusal (message, code, request id, issues) or a network failure, as an alert. */
  failed(error: unknown): void;
  clear(): void;
}

export function feedback(): Feedback {
  const status = h("p", { class: "status", role: "status", "aria-live": "polite" });
  const alert = h("div", { class: "alert", role: "alert" });
  return {
    element: h("div", { class: "feedback" }, status, alert),
    done(message) {
      fill(alert);
      fill(status, message);
    },
    failed(error) {
      // A token the API no longer accepts fails every section at once: sign out, say so once.
      if (error instanceof FlashgateError && error.status === 401 && sessionRefused(error)) return;
      fill(status);
      fill(alert, ...describeError(error));
    },
    clear() {
      fill(status);
      fill(alert);
    },
  };
}

/** An error as the user should read it: what the API said, its code and its request id. */
export function describeError(error: unknown): Node[] {
  if (error instanceof FlashgateError) {
    const details = h(
      "p",
      { class: "error-details" },
      "Code ",
      h("code", { class: "error-code" }, error.code),
      error.requestId ? " · request id " : "",
      error.requestId ? h("code", { class: "request-id" }, error.requestId) : "",
    );
    const issues = error.issues?.length
      ? h(
          "ul",
          { class: "issues" },
          ...error.issues.map((issue) =>
            h(
              "li",
              {},
              issue.path ? h("code", {}, issue.path) : "",
              issue.path ? ": " : "",
              issue.message,
            ),
          ),
        )
      : null;
    // Tokens expire (development ones after an hour): say what to do about it.
    const expired =
      error.status === 401
        ? h("p", { class: "hint" }, "Access tokens expire: sign in again with a new one.")
        : null;
    const parts: (Node | null)[] = [
      h("p", { class: "error-message" }, error.message),
      details,
      issues,
      expired,
    ];
    return parts.filter((part): part is Node => part !== null);
  }
  // fetch rejects with a TypeError when the API cannot be reached (offline, DNS, CORS, …).
  if (error instanceof TypeError) {
    return [h("p", { class: "error-message" }, `Could not reach the API: ${error.message}`)];
  }
  const message = error instanceof Error ? error.message : String(error);
  return [h("p", { class: "error-message" }, `Something went wrong: ${message}`)];
}
