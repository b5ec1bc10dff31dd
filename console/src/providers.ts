import type { AiProvider, AiType } from "@flashgate/client";
import { formDialog } from "./dialogs";
import { field, fill, h, messageRow, select, table, time, uniqueId, whileBusy } from "./dom";
import { feedback } from "./feedback";
import { rememberFocus } from "./focus";
import { api } from "./session";

const AI_TYPES: readonly AiType[] = ["OPENAI", "ANTHROPIC", "GOOGLE", "AWS", "OTHER"];

/** What the base URL field says per type: the defaults of src/providers/schemas.ts. */
const BASE_URL_HINTS: Record<AiType, string> = {
  OPENAI: "https only. Empty: https://api.openai.com/v1.",
  ANTHROPIC: "https only. Empty: https://api.anthropic.com.",
  GOOGLE: "https only. Empty: https://generativelanguage.googleapis.com/v1beta/openai.",
  AWS: "https only. Empty: none (the AI gateway does not serve Bedrock).",
  OTHER: "https only; required for OTHER (an OpenAI-compatible server).",
};

const baseUrlHint = (type: AiType) => BASE_URL_HINTS[type];

/** A provider key as the page shows it: never the key, bullets and its last 4 characters. */
export const maskedKey = (last4: string) => `••••${last4}`;

/**
 * The key and base URL fields of the set and replace forms. The key is a password field that
 * no browser offers to remember; the page keeps it only until the form is sent.
 */
function providerFields(type: () => AiType) {
  const apiKey = h("input", {
    type: "password",
    name: "apiKey",
    required: true,
    minlength: "8",
    maxlength: "512",
    autocomplete: "off",
    spellcheck: "false",
  });
  const baseUrl = h("input", {
    type: "url",
    name: "baseUrl",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "https://",
  });
  const baseUrlField = field("Base URL (optional)", baseUrl, baseUrlHint(type()));
  const retitle = () => {
    const hint = baseUrlField.querySelector("small");
    if (hint) hint.textContent = baseUrlHint(type());
  };
  return {
    apiKey,
    baseUrl,
    fields: [
      field("API key", apiKey, "Stored sealed; only its last 4 characters are ever shown."),
      baseUrlField,
    ],
    retitle,
    /** The request body. */
    take() {
      const body = {
        apiKey: apiKey.value,
        ...(baseUrl.value.trim() ? { baseUrl: baseUrl.value.trim() } : {}),
      };
      return body;
    },
    clear() {
      apiKey.value = "";
    },
  };
}

/**
 * A repo's keys at AI providers: which types have one (the key masked, when and by whom it was
 * set, where it is called), replace or remove each (ADMIN; the API refuses anyone else), and a
 * form to set one.
 */
export function providersSection(repoId: string): HTMLElement {
  const headingId = uniqueId("providers");
  const columns = ["Type", "Key", "Base URL", "Set", "Actions"];
  const result = feedback();
  const { table: providers, body } = table("AI providers", columns);

  async function load(): Promise<void> {
    const restoreFocus = rememberFocus();
    try {
      const listed = (await api().aiProviders.list(repoId)).providers;
      fill(
        body,
        ...(listed.length
          ? listed.map(row)
          : [
              messageRow(
                columns.length,
                "No provider keys yet: AI keys of this repo cannot call any provider.",
              ),
            ]),
      );
    } catch (error) {
      fill(body, messageRow(columns.length, "The provider keys could not be listed."));
      result.failed(error);
    }
    restoreFocus("if-lost");
  }

  function row(provider: AiProvider): HTMLTableRowElement {
    const type = provider.aiType;
    const replace = h(
      "button",
      {
        type: "button",
        class: "secondary small",
        "data-action": "replace",
        "aria-label": `Replace the ${type} key`,
      },
      "Replace",
    );
    replace.addEventListener("click", () => {
      const form = providerFields(() => type);
      formDialog({
        title: `Replace the ${type} key`,
        intro: [
          h(
            "p",
            {},
            `The new key replaces ${maskedKey(provider.apiKeyLast4)} for every AI key of this repository.`,
          ),
        ],
        fields: form.fields,
        submitLabel: "Replace key",
        submit: async () => {
          try {
            const set = await api().aiProviders.set(repoId, type, form.take());
            result.done(`The ${type} key is now ${maskedKey(set.apiKeyLast4)}.`);
          } finally {
            form.clear();
          }
          await load();
        },
      });
    });
    const remove = h(
      "button",
      {
        type: "button",
        class: "danger small",
        "data-action": "remove",
        "aria-label": `Remove the ${type} key`,
      },
      "Remove",
    );
    remove.addEventListener("click", () =>
      formDialog({
        title: `Remove the ${type} key`,
        intro: [
          h(
            "p",
            {},
            `Remove ${maskedKey(provider.apiKeyLast4)}? The repository's ${type} AI keys can no longer call the provider until a key is set again.`,
          ),
        ],
        submitLabel: "Remove key",
        danger: true,
        submit: async () => {
          await api().aiProviders.remove(repoId, type);
          result.done(`The ${type} key was removed.`);
          await load();
        },
      }),
    );
    return h(
      "tr",
      { "data-type": type },
      h("th", { scope: "row" }, type),
      h(
        "td",
        {},
        h(
          "code",
          { class: "masked-key" },
          h("span", { "aria-hidden": "true" }, "••••"),
          h("span", { class: "visually-hidden" }, "ending in "),
          provider.apiKeyLast4,
        ),
      ),
      h("td", {}, provider.baseUrl ? h("code", { class: "base-url" }, provider.baseUrl) : "—"),
      h("td", {}, time(provider.setAt), h("small", { class: "set-by" }, ` by ${provider.setBy}`)),
      h("td", { class: "actions" }, replace, remove),
    );
  }

  const type = select(AI_TYPES, "OPENAI", { name: "aiType" });
  const fields = providerFields(() => type.value as AiType);
  type.addEventListener("change", fields.retitle);
  const save = h("button", { type: "submit", class: "primary" }, "Set provider key");
  const form = h(
    "form",
    { class: "inline-form", "aria-label": "Set a provider key" },
    field("Provider", type),
    ...fields.fields,
    save,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void whileBusy(save, async () => {
      result.clear();
      const aiType = type.value as AiType;
      try {
        const set = await api().aiProviders.set(repoId, aiType, fields.take());
        form.reset();
        fields.retitle();
        result.done(`The ${aiType} key ${maskedKey(set.apiKeyLast4)} was set.`);
        void load();
      } catch (error) {
        // The key stays for a correction (a refused base URL); nothing else keeps it.
        result.failed(error);
      }
    });
  });

  fill(body, messageRow(columns.length, "Loading…"));
  void load();
  return h(
    "section",
    { class: "providers", "aria-labelledby": headingId },
    h("h2", { id: headingId }, "AI providers"),
    h(
      "p",
      { class: "hint" },
      "The repository's own keys at AI providers: the AI gateway calls the provider with them for this repository's AI keys, which never see them. Only ADMINs set or remove them.",
    ),
    h("div", { class: "table-scroll" }, providers),
    result.element,
    form,
  );
}
