import { type Child, fill, h, uniqueId, whileBusy } from "./dom";
import { feedback } from "./feedback";
import { rememberFocus } from "./focus";

interface ModalParts {
  content: Child[];
  /** Where focus goes when the dialog opens: its first field or its primary button. */
  focus: HTMLElement;
  /** Runs once as the dialog closes, however it closes (button, Escape). */
  closed?: () => void;
}

/**
 * A native modal `<dialog>` titled by its heading: focus moves into it on open and goes back
 * to the control that opened it on close; Escape closes it (the browser's own `cancel`). It
 * leaves the page once closed, so nothing it showed stays behind.
 */
export function openModal(
  title: string,
  build: (close: () => void) => ModalParts,
  className = "",
): void {
  const returnFocus = rememberFocus();
  const headingId = uniqueId("dialog-title");
  const dialog = h("dialog", { "aria-labelledby": headingId, class: className || null });
  // `close` fires a task after the dialog shuts: clean up at once, on the button or on Escape.
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    closed?.();
  };
  const close = () => {
    finish();
    dialog.close();
  };
  const { content, focus, closed } = build(close);
  dialog.append(
    h("h2", { id: headingId }, title),
    ...content.filter((c) => c !== false && c != null),
  );
  dialog.addEventListener("cancel", finish);
  dialog.addEventListener("close", () => {
    finish();
    dialog.remove();
    returnFocus();
  });
  document.body.append(dialog);
  dialog.showModal();
  focus.focus();
}

interface FormDialogOptions {
  title: string;
  /** Text above the fields. */
  intro?: Child[];
  /** Labelled fields (see `field`); the first control gets focus. */
  fields?: HTMLElement[];
  submitLabel: string;
  /** A destructive action: a red button, and focus starts on Cancel. */
  danger?: boolean;
  /**
   * Does the change; a failure stays in the dialog as an alert, with the dialog open. A
   * function it resolves to runs once the dialog has closed (e.g. opening the next dialog).
   */
  submit: () => Promise<unknown>;
}

/** A dialog around one form: Cancel closes it, the submit button runs `submit` then closes. */
export function formDialog(options: FormDialogOptions): void {
  openModal(options.title, (close) => {
    const result = feedback();
    const cancel = h("button", { type: "button", class: "secondary", onclick: close }, "Cancel");
    const confirm = h(
      "button",
      { type: "submit", class: options.danger ? "danger" : "primary" },
      options.submitLabel,
    );
    const form = h(
      "form",
      {
        class: "dialog-form",
        onsubmit: (event: Event) => {
          event.preventDefault();
          void whileBusy(confirm, async () => {
            result.clear();
            try {
              const next = await options.submit();
              close();
              if (typeof next === "function") next();
            } catch (error) {
              result.failed(error);
            }
          });
        },
      },
      ...(options.intro ?? []),
      ...(options.fields ?? []),
      result.element,
      h("div", { class: "dialog-actions" }, cancel, confirm),
    );
    const firstControl = form.querySelector<HTMLElement>("input, select, textarea");
    return { content: [form], focus: options.danger ? cancel : (firstControl ?? confirm) };
  });
}

/** What `showSecret` displays: which key, and its secret. */
export interface SecretToShow {
  title: string;
  /** A sentence saying which key: "The storage key “CI Bot” was created with this …". */
  description: string;
  /** The key's public id: a storage key's access key id, or an AI key's key. */
  key: string;
  /** What to call that id: "Access key" (storage) or "Key" (AI). */
  keyLabel: string;
  secret: string;
  /** Anything else worth saying, e.g. until when the previous secret works. */
  note?: Child;
}

export const SECRET_WARNING =
  "This is the only time this secret is shown. Copy it now and store it somewhere safe; it cannot be shown again.";

/**
 * The one place a secret appears: in a modal with a copy button. On close its text is cleared,
 * the dialog leaves the page and the last reference to the secret is dropped.
 */
export function showSecret(shown: SecretToShow): void {
  let secret: string | undefined = shown.secret;
  openModal(
    shown.title,
    (close) => {
      const secretText = h("code", { class: "secret" }, secret);
      const copyStatus = h("p", { class: "status", role: "status", "aria-live": "polite" });
      const copy = h(
        "button",
        {
          type: "button",
          class: "primary",
          onclick: async () => {
            try {
              await navigator.clipboard.writeText(secret ?? "");
              fill(copyStatus, "Copied to the clipboard.");
            } catch {
              // No clipboard access (permissions, insecure context): let the user copy by hand.
              window.getSelection()?.selectAllChildren(secretText);
              fill(
                copyStatus,
                "Could not copy automatically. The secret is selected: press Ctrl+C (⌘C on a Mac) to copy it.",
              );
            }
          },
        },
        "Copy secret",
      );
      const done = h("button", { type: "button", class: "secondary", onclick: close }, "Done");
      return {
        content: [
          h("p", {}, shown.description),
          h(
            "dl",
            { class: "secret-details" },
            h("dt", {}, shown.keyLabel),
            h("dd", {}, h("code", { class: "key-id" }, shown.key)),
            h("dt", {}, "Secret"),
            h("dd", {}, secretText),
          ),
          h("p", { class: "warning", role: "note" }, SECRET_WARNING),
          shown.note,
          copyStatus,
          h("div", { class: "dialog-actions" }, copy, done),
        ],
        focus: copy,
        closed: () => {
          secretText.textContent = "";
          window.getSelection()?.removeAllRanges();
          secret = undefined;
          shown.secret = "";
        },
      };
    },
    "secret-dialog",
  );
}

/** Temporary credentials as issued: the three values, and what they may reach. */
export interface TemporaryToShow {
  /** "Temporary credentials from “CI Bot”". */
  description: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** Until when, and the scope, in words. */
  note: Child;
}

/**
 * Temporary credentials, shown once as `showSecret` shows a secret: the access key id, secret and
 * session token, and the same three as a ready-to-paste `aws` environment block with a copy
 * button. Closing clears every value from the page.
 */
export function showTemporaryCredentials(shown: TemporaryToShow): void {
  let block: string | undefined = [
    `export AWS_ACCESS_KEY_ID=${shown.accessKeyId}`,
    `export AWS_SECRET_ACCESS_KEY=${shown.secretAccessKey}`,
    `export AWS_SESSION_TOKEN=${shown.sessionToken}`,
  ].join("\n");
  openModal(
    "Temporary credentials",
    (close) => {
      const values = [
        h("code", { class: "key-id" }, shown.accessKeyId),
        h("code", { class: "secret" }, shown.secretAccessKey),
        h("code", { class: "secret" }, shown.sessionToken),
      ];
      const environment = h("pre", { class: "secret environment" }, h("code", {}, block));
      const copyStatus = h("p", { class: "status", role: "status", "aria-live": "polite" });
      const copy = h(
        "button",
        {
          type: "button",
          class: "primary",
          onclick: async () => {
            try {
              await navigator.clipboard.writeText(block ?? "");
              fill(copyStatus, "Copied to the clipboard.");
            } catch {
              window.getSelection()?.selectAllChildren(environment);
              fill(
                copyStatus,
                "Could not copy automatically. The block is selected: press Ctrl+C (⌘C on a Mac) to copy it.",
              );
            }
          },
        },
        "Copy environment",
      );
      const done = h("button", { type: "button", class: "secondary", onclick: close }, "Done");
      const [accessKey, secret, token] = values;
      return {
        content: [
          h("p", {}, shown.description),
          h(
            "dl",
            { class: "secret-details" },
            h("dt", {}, "Access key"),
            h("dd", {}, accessKey),
            h("dt", {}, "Secret"),
            h("dd", {}, secret),
            h("dt", {}, "Session token"),
            h("dd", {}, token),
          ),
          h("p", {}, "For the AWS CLI and SDKs, in a shell:"),
          environment,
          h("p", { class: "warning", role: "note" }, SECRET_WARNING),
          shown.note,
          copyStatus,
          h("div", { class: "dialog-actions" }, copy, done),
        ],
        focus: copy,
        closed: () => {
          for (const value of [...values, environment]) value.textContent = "";
          window.getSelection()?.removeAllRanges();
          block = undefined;
          shown.secretAccessKey = "";
          shown.sessionToken = "";
        },
      };
    },
    "secret-dialog",
  );
}
