import type { FlashgateError } from "@flashgate/client";
import { field, h, whileBusy } from "./dom";
import { describeError, feedback } from "./feedback";
import { signIn } from "./session";
import type { View } from "./view";

const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * The sign-in form: a pasted access token, checked by listing the user's workspaces. `ended`:
 * the API's refusal that signed the user out, shown above the form.
 */
export function signInPage(view: View, signedIn: () => void, ended?: FlashgateError): Node[] {
  view.setTitle("Sign in");
  view.setCrumbs([]);
  const result = feedback();
  const token = h("input", {
    type: "password",
    name: "token",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
  });
  const submit = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h(
    "form",
    { class: "sign-in", "aria-label": "Sign in" },
    field("Access token", token),
    submit,
    result.element,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void whileBusy(submit, async () => {
      result.clear();
      try {
        await signIn(token.value.trim().replace(/^Bearer\s+/i, ""));
        token.value = "";
        signedIn();
      } catch (error) {
        result.failed(error);
      }
    });
  });
  queueMicrotask(() => token.focus());

  const development = LOCAL_HOSTS.has(location.hostname)
    ? h(
        "p",
        { class: "note" },
        "Development: run ",
        h("code", {}, "npm run --silent token -- <userId>"),
        " with any user id (e.g. ",
        h("code", {}, "npm run --silent token -- alice"),
        ") and paste the token it prints.",
      )
    : null;
  const endedNotice = ended
    ? h(
        "div",
        { class: "alert", role: "alert" },
        h(
          "p",
          { class: "error-message" },
          "You were signed out: the API no longer accepts your token.",
        ),
        ...describeError(ended),
      )
    : null;
  return [
    ...(endedNotice ? [endedNotice] : []),
    h(
      "div",
      { class: "card sign-in-card" },
      h(
        "p",
        {},
        "Paste an access token for the Flashgate API to manage workspaces, repos and keys.",
      ),
      development,
      form,
      h(
        "p",
        { class: "hint" },
        "The token is kept in this page's memory only, never stored. Reloading the page signs you out.",
      ),
    ),
  ];
}
