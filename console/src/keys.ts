import type {
  AccessType,
  AiKey,
  AiType,
  FlashgateClient,
  RolledKey,
  StorageKey,
} from "@flashgate/client";
import { formDialog, showSecret, showTemporaryCredentials } from "./dialogs";
import {
  type Child,
  field,
  fill,
  h,
  messageRow,
  readableDate,
  select,
  table,
  time,
  uniqueId,
  whileBusy,
} from "./dom";
import { type Feedback, feedback } from "./feedback";
import { rememberFocus } from "./focus";
import { api } from "./session";

const ACCESS_TYPES: readonly AccessType[] = ["READ", "WRITE", "ADMIN"];
const AI_TYPES: readonly AiType[] = ["OPENAI", "GOOGLE", "ANTHROPIC", "AWS", "OTHER"];

/** What differs between storage keys and AI keys; everything else is the same section. */
interface KeyKind<K extends StorageKey | AiKey> {
  /** "storage key", "AI key": used in sentences. */
  noun: string;
  heading: string;
  /** The column between Name and Key: Access or AI type. */
  typeColumn: string;
  /** What the key's public id is called beside its secret. */
  keyLabel: string;
  all(client: FlashgateClient, repoId: string): AsyncIterable<K>;
  /** The cell of that column. */
  typeCell(key: K, section: KeySection): Child;
  /** The create form's Access or AI type field, with its select. */
  typeField(): HTMLElement & { control: HTMLSelectElement };
  create(
    client: FlashgateClient,
    repoId: string,
    input: { name: string; type: string; expiresAt?: string; models?: string[] },
  ): Promise<{ id: string; key: string; secret: string }>;
  /** AI keys only: the create form's model allow-list field. */
  modelsField?(): HTMLElement & { control: HTMLTextAreaElement };
  update(
    client: FlashgateClient,
    repoId: string,
    id: string,
    changes: {
      name?: string;
      status?: "ACTIVE" | "INACTIVE";
      access?: AccessType;
      /** null: never expires. */
      expiresAt?: string | null;
      /** AI keys only; null: any model. */
      models?: string[] | null;
    },
  ): Promise<unknown>;
  roll(
    client: FlashgateClient,
    repoId: string,
    id: string,
    graceSeconds: number,
  ): Promise<RolledKey>;
  remove(client: FlashgateClient, repoId: string, id: string): Promise<unknown>;
  /** Storage keys only: short-lived credentials limited to a permission and prefixes. */
  temporaryCredentials?(
    client: FlashgateClient,
    repoId: string,
    id: string,
    input: { permission: "READ" | "WRITE"; prefixes?: string[]; ttlSeconds: number },
  ): ReturnType<FlashgateClient["apiKeys"]["temporaryCredentials"]>;
}

interface KeySection {
  repoId: string;
  result: Feedback;
  reload(): Promise<void>;
}

export const storageKeys: KeyKind<StorageKey> = {
  noun: "storage key",
  heading: "Storage keys",
  typeColumn: "Access",
  keyLabel: "Access key",
  all: (client, repoId) => client.apiKeys.all(repoId),
  typeCell(key, section) {
    const access = select(ACCESS_TYPES, key.accessType, {
      "aria-label": `Access of ${key.name}`,
      "data-action": "access",
    });
    const save = h(
      "button",
      { type: "button", class: "secondary small", "data-action": "save-access" },
      "Save",
    );
    save.addEventListener("click", () =>
      act(section, save, `Access of “${key.name}” is now ${access.value}.`, () =>
        storageKeys.update(api(), section.repoId, key.id, {
          access: access.value as AccessType,
        }),
      ),
    );
    return h("div", { class: "inline-edit" }, access, save);
  },
  typeField() {
    const control = select(ACCESS_TYPES, "READ", { name: "access" });
    return Object.assign(field("Access", control), { control });
  },
  create: (client, repoId, { name, type, expiresAt }) =>
    client.apiKeys.create(repoId, { name, access: type as AccessType, expiresAt }),
  update: (client, repoId, id, { access, ...changes }) =>
    client.apiKeys.update(repoId, id, { ...changes, accessType: access }),
  roll: (client, repoId, id, gracePeriodSeconds) =>
    client.apiKeys.roll(repoId, id, { gracePeriodSeconds }),
  remove: (client, repoId, id) => client.apiKeys.delete(repoId, id),
  temporaryCredentials: (client, repoId, id, input) =>
    client.apiKeys.temporaryCredentials(repoId, id, input),
};

export const aiKeys: KeyKind<AiKey> = {
  noun: "AI key",
  heading: "AI keys",
  typeColumn: "AI type",
  keyLabel: "Key",
  all: (client, repoId) => client.aiApiKeys.all(repoId),
  typeCell(key, section) {
    const edit = h(
      "button",
      {
        type: "button",
        class: "secondary small",
        "data-action": "models",
        "aria-label": `Change the models ${key.name} may use`,
      },
      "Models",
    );
    edit.addEventListener("click", () => {
      const allowList = modelsField(key.models);
      formDialog({
        title: `Models “${key.name}” may use`,
        fields: [allowList],
        submitLabel: "Save models",
        submit: async () => {
          const models = modelsOf(allowList.control.value);
          await aiKeys.update(api(), section.repoId, key.id, { models: models ?? null });
          section.result.done(
            models
              ? `“${key.name}” may use ${models.join(", ")} only.`
              : `“${key.name}” may use any model.`,
          );
          await section.reload();
        },
      });
    });
    return h(
      "div",
      { class: "type-cell" },
      key.aiType,
      h(
        "small",
        { class: "models" },
        key.models ? `Models: ${key.models.join(", ")}` : "Any model",
      ),
      edit,
    );
  },
  typeField() {
    const control = select(AI_TYPES, "OPENAI", { name: "aiType" });
    return Object.assign(field("AI type", control), { control });
  },
  modelsField: () => modelsField(null),
  create: (client, repoId, { name, type, expiresAt, models }) =>
    client.aiApiKeys.create(repoId, { name, aiType: type as AiType, expiresAt, models }),
  update: (client, repoId, id, { access: _, ...changes }) =>
    client.aiApiKeys.update(repoId, id, changes),
  roll: (client, repoId, id, gracePeriodSeconds) =>
    client.aiApiKeys.roll(repoId, id, { gracePeriodSeconds }),
  remove: (client, repoId, id) => client.aiApiKeys.delete(repoId, id),
};

/** The allow-list field: one model per line; empty allows any model. */
function modelsField(models: string[] | null): HTMLElement & { control: HTMLTextAreaElement } {
  const control = h("textarea", {
    name: "models",
    rows: 3,
    autocomplete: "off",
    spellcheck: "false",
  });
  control.value = (models ?? []).join("\n");
  return Object.assign(
    field("Allowed models", control, "One per line, e.g. gpt-4o-mini. Empty: any model."),
    { control },
  );
}

/** The models listed in the field, or undefined when it lists none (any model). */
function modelsOf(text: string): string[] | undefined {
  const models = text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");
  return models.length > 0 ? models : undefined;
}

/**
 * A repo's keys of one kind: every page of the list (the API pages it; a repo holds at most
 * 100), the actions on each key, and a create form. A new or rolled secret is shown once, in
 * the secret dialog, and kept nowhere else.
 */
export function keysSection<K extends StorageKey | AiKey>(
  kind: KeyKind<K>,
  repoId: string,
): HTMLElement {
  const headingId = uniqueId("keys");
  const columns = [
    "Name",
    kind.typeColumn,
    "Key",
    "Created",
    "Last used",
    "Status",
    "Expires",
    "Actions",
  ];
  const result = feedback();
  const { table: keys, body } = table(kind.heading, columns);
  const section: KeySection = { repoId, result, reload: load };

  async function load(): Promise<void> {
    const restoreFocus = rememberFocus();
    try {
      const listed: K[] = [];
      for await (const key of kind.all(api(), repoId)) listed.push(key);
      fill(
        body,
        ...(listed.length
          ? listed.map(keyRow)
          : [messageRow(columns.length, `No ${kind.noun}s yet.`)]),
      );
    } catch (error) {
      fill(body, messageRow(columns.length, `The ${kind.noun}s could not be listed.`));
      result.failed(error);
    }
    restoreFocus("if-lost");
  }

  /** Issues temporary credentials from a storage key and shows them once. */
  function temporaryDialog(key: K): void {
    const issue = kind.temporaryCredentials;
    if (!issue) return;
    const access = "accessType" in key ? key.accessType : "READ";
    const permission = select(access === "READ" ? ["READ"] : ["READ", "WRITE"], "READ", {
      name: "permission",
    });
    const prefixes = h("textarea", { name: "prefixes", rows: 3, autocomplete: "off" });
    const lifetime = h("input", {
      type: "number",
      name: "ttlSeconds",
      value: "900",
      min: "60",
      max: "43200",
      step: "1",
      inputmode: "numeric",
    });
    formDialog({
      title: `Temporary credentials from “${key.name}”`,
      intro: [
        h(
          "p",
          {},
          "Short-lived S3 credentials, limited to a permission and, optionally, key prefixes. Nothing is stored: deleting, disabling or rolling this key ends them.",
        ),
      ],
      fields: [
        field("Permission", permission),
        field(
          "Key prefixes",
          prefixes,
          "One per line, e.g. builds/1234/; none for the whole repository.",
        ),
        field("Lifetime (seconds)", lifetime, "60 to 43200 (12 hours); 900 is 15 minutes."),
      ],
      submitLabel: "Issue credentials",
      submit: async () => {
        const lines = prefixes.value
          .split("\n")
          .map((line) => line.trim())
          .filter((line) => line !== "");
        const issued = await issue(api(), repoId, key.id, {
          permission: permission.value as "READ" | "WRITE",
          ...(lines.length > 0 ? { prefixes: lines } : {}),
          ttlSeconds: Number(lifetime.value || "900"),
        });
        result.done(`Temporary credentials were issued from “${key.name}”.`);
        return () =>
          showTemporaryCredentials({
            description: `${issued.permission} credentials from the ${kind.noun} “${key.name}”.`,
            accessKeyId: issued.accessKeyId,
            secretAccessKey: issued.secretAccessKey,
            sessionToken: issued.sessionToken,
            note: h(
              "p",
              {},
              `They reach ${issued.prefixes.length > 0 ? issued.prefixes.join(", ") : "the whole repository"} and work until `,
              time(issued.expiration),
              ".",
            ),
          });
      },
    });
  }

  function keyRow(key: K): HTMLTableRowElement {
    const button = (label: string, action: string, className = "secondary small") =>
      h("button", { type: "button", class: className, "data-action": action }, label);

    const rename = button("Rename", "rename");
    rename.addEventListener("click", () => {
      const name = h("input", {
        type: "text",
        value: key.name,
        required: true,
        autocomplete: "off",
      });
      formDialog({
        title: `Rename ${kind.noun}`,
        fields: [field("Name", name)],
        submitLabel: "Rename",
        submit: async () => {
          await kind.update(api(), repoId, key.id, { name: name.value.trim() });
          result.done(`Renamed to “${name.value.trim()}”.`);
          await load();
        },
      });
    });

    // A leaked key's secret is public: it is rolled before it can be enabled (the API says 409).
    const leaked = key.disabledReason === "LEAKED";
    // EXPIRED hides whether the key is switched on or off, so there is nothing to toggle.
    const toggle =
      key.status === "EXPIRED" || leaked
        ? null
        : button(key.status === "ACTIVE" ? "Disable" : "Enable", "toggle");
    toggle?.addEventListener("click", () => {
      const status = key.status === "ACTIVE" ? "INACTIVE" : "ACTIVE";
      const done =
        status === "ACTIVE"
          ? `“${key.name}” is enabled.`
          : `“${key.name}” is disabled: anything using it is refused ${REFUSED_WITHIN}.`;
      void act(section, toggle, done, () => kind.update(api(), repoId, key.id, { status }));
    });

    const roll = button("Roll", "roll");
    roll.addEventListener("click", () => {
      const grace = h("input", { type: "number", value: "0", inputmode: "numeric", step: "1" });
      formDialog({
        title: `Roll the secret of “${key.name}”`,
        intro: [
          h(
            "p",
            {},
            "A new secret replaces the current one. Whatever uses the current secret needs the new one.",
          ),
        ],
        fields: [
          field(
            "Grace period for the previous secret (seconds)",
            grace,
            `How long the previous secret keeps working; with 0 it is refused ${REFUSED_WITHIN}.`,
          ),
        ],
        submitLabel: "Roll secret",
        submit: async () => {
          const rolled = await kind.roll(api(), repoId, key.id, Number(grace.value || "0"));
          const until = rolled.previousSecretExpiresAt;
          result.done(`The secret of “${key.name}” was rolled.`);
          await load();
          return () =>
            showSecret({
              title: "New secret",
              description: `The ${kind.noun} “${key.name}” has a new secret.`,
              key: rolled.key,
              keyLabel: kind.keyLabel,
              secret: rolled.secret,
              note: until
                ? h("p", {}, "The previous secret keeps working until ", time(until), ".")
                : h("p", {}, `The previous secret is refused ${REFUSED_WITHIN}.`),
            });
        },
      });
    });

    const temporary =
      kind.temporaryCredentials && key.status === "ACTIVE"
        ? button("Temporary credentials", "temporary")
        : null;
    temporary?.addEventListener("click", () => temporaryDialog(key));

    const expiry = h(
      "button",
      {
        type: "button",
        class: "secondary small",
        "data-action": "expiry",
        "aria-label": `Change the expiry of ${key.name}`,
      },
      "Change",
    );
    expiry.addEventListener("click", () => {
      const at = h("input", { type: "datetime-local", value: localDateTime(key.expiresAt) });
      formDialog({
        title: `Change the expiry of “${key.name}”`,
        fields: [field("Expires", at, "Your local time. Leave it empty: the key never expires.")],
        submitLabel: "Save expiry",
        submit: async () => {
          const expiresAt = at.value ? new Date(at.value).toISOString() : null;
          await kind.update(api(), repoId, key.id, { expiresAt });
          result.done(
            expiresAt
              ? `“${key.name}” expires ${readableDate(expiresAt)}.`
              : `“${key.name}” never expires.`,
          );
          await load();
        },
      });
    });

    const revoke = button("Revoke", "revoke", "danger small");
    revoke.addEventListener("click", () =>
      formDialog({
        title: `Revoke ${kind.noun}`,
        intro: [
          h(
            "p",
            {},
            `Revoke the ${kind.noun} “${key.name}” (`,
            h("code", {}, key.key),
            `)? Anything using it is refused ${REFUSED_WITHIN}. This cannot be undone.`,
          ),
        ],
        submitLabel: "Revoke key",
        danger: true,
        submit: async () => {
          await kind.remove(api(), repoId, key.id);
          result.done(`“${key.name}” was revoked.`);
          await load();
        },
      }),
    );

    const previousUntil =
      key.previousSecretExpiresAt && Date.parse(key.previousSecretExpiresAt) > Date.now()
        ? h(
            "small",
            { class: "previous" },
            "previous secret until ",
            time(key.previousSecretExpiresAt),
          )
        : null;
    return h(
      "tr",
      { "data-id": key.id },
      h("th", { scope: "row", class: "key-name" }, key.name),
      h("td", {}, kind.typeCell(key, section)),
      h("td", {}, h("code", { class: "key-id" }, key.key)),
      h("td", {}, time(key.createdAt)),
      h("td", {}, time(key.lastUsedAt, "Never")),
      h(
        "td",
        {},
        leaked
          ? h("span", { class: "badge leaked" }, "Leaked — disabled")
          : h("span", { class: `badge ${key.status.toLowerCase()}` }, key.status),
        leakNote(key),
        previousUntil,
      ),
      h("td", {}, h("div", { class: "inline-edit" }, time(key.expiresAt), expiry)),
      h("td", { class: "actions" }, rename, toggle, roll, temporary, revoke),
    );
  }

  const name = h("input", { type: "text", name: "name", required: true, autocomplete: "off" });
  const type = kind.typeField();
  const models = kind.modelsField?.();
  const expires = h("input", { type: "datetime-local", name: "expiresAt" });
  const create = h("button", { type: "submit", class: "primary" }, `Create ${kind.noun}`);
  const form = h(
    "form",
    { class: "inline-form", "aria-label": `Create a ${kind.noun}` },
    field("Name", name),
    type,
    field("Expires (optional)", expires),
    models,
    create,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void whileBusy(create, async () => {
      result.clear();
      try {
        const expiresAt = expires.value ? new Date(expires.value).toISOString() : undefined;
        const keyName = name.value.trim();
        const allowed = models ? modelsOf(models.control.value) : undefined;
        const created = await kind.create(api(), repoId, {
          name: keyName,
          type: type.control.value,
          expiresAt,
          ...(allowed ? { models: allowed } : {}),
        });
        form.reset();
        result.done(`The ${kind.noun} “${keyName}” was created.`);
        showSecret({
          title: `${capitalize(kind.noun)} created`,
          description: `The ${kind.noun} “${keyName}” was created with this ${kind.keyLabel.toLowerCase()} and secret.`,
          key: created.key,
          keyLabel: kind.keyLabel,
          secret: created.secret,
        });
        void load();
      } catch (error) {
        result.failed(error);
      }
    });
  });

  fill(body, messageRow(columns.length, "Loading…"));
  void load();
  return h(
    "section",
    { class: "keys", "aria-labelledby": headingId },
    h("h2", { id: headingId }, kind.heading),
    h("div", { class: "table-scroll" }, keys),
    result.element,
    form,
  );
}

/** Runs one change from a row's button, then reloads the list; failures go to the alert. */
async function act(
  section: KeySection,
  button: HTMLButtonElement,
  done: string,
  change: () => Promise<unknown>,
): Promise<void> {
  await whileBusy(button, async () => {
    section.result.clear();
    try {
      await change();
      section.result.done(done);
      await section.reload();
    } catch (error) {
      section.result.failed(error);
    }
  });
}

/** Where and when a key's secret was found in public (docs/secret-scanning.md), if it was. */
function leakNote(key: {
  leakedAt: string | null;
  leakSource: string | null;
  leakUrl: string | null;
}): Node | null {
  if (!key.leakedAt) return null;
  const source = key.leakSource ?? "unknown";
  // Only an https link is a link: the URL comes from a report, not from this service.
  const where =
    key.leakUrl && /^https:\/\//i.test(key.leakUrl)
      ? h("a", { href: key.leakUrl, rel: "noopener noreferrer", target: "_blank" }, source)
      : source;
  return h("small", { class: "leak" }, "found ", time(key.leakedAt), " in ", where);
}

/**
 * How soon a revoked, disabled or rolled-away secret is refused: gateways' verifications may
 * answer from a cache for VERIFY_CACHE_TTL_SECONDS (10 by default; docs/verifying-keys.md).
 */
const REFUSED_WITHIN = "everywhere within about 10 seconds";

const capitalize = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** An ISO instant as a datetime-local input's value, in the browser's time zone ("" for none). */
function localDateTime(iso: string | null): string {
  if (!iso) return "";
  const date = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}
