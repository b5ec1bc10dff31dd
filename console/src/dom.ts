// The console's only way of making DOM: elements and text nodes, never HTML strings, so that
// names and ids from the API (untrusted) can never become markup.

type Attribute = string | number | boolean | null | undefined;
type Handler = (event: Event) => void;
export type Attributes = Record<string, Attribute | Handler>;
export type Child = Node | string | null | undefined | false;

/**
 * `h("button", { type: "button", onclick: go }, "Open")`. `on…` functions become listeners;
 * `true` is an empty attribute, `false`/null/undefined leave it out; strings are text.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (value === true) {
      element.setAttribute(name, "");
    } else if (value !== false && value !== null && value !== undefined) {
      element.setAttribute(name, String(value));
    }
  }
  element.append(...children.filter((child): child is Node | string => Boolean(child)));
  return element;
}

/** Replaces everything inside `parent`. */
export function fill(parent: Element, ...children: Child[]): void {
  parent.replaceChildren(...children.filter((child): child is Node | string => Boolean(child)));
}

let lastId = 0;
/** An id unique in the page, for label/for and aria-labelledby pairs. */
export const uniqueId = (prefix: string) => `${prefix}-${++lastId}`;

const readable = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** A date as the tables show it ("Mar 1, 2027, 10:30 AM"), in the browser's locale and zone. */
export const readableDate = (iso: string) => readable.format(new Date(iso));

const TIME_OF_DAY = new Set(["hour", "minute", "second", "dayPeriod"]);

/**
 * `<time datetime="ISO">` with a local, readable text; `empty` when there is no date. The day
 * and the time of day are a span each ("Mar 1, 2027," "10:30 AM"): a narrow table cell breaks
 * the date between them, never inside either (console.css).
 */
export function time(iso: string | null | undefined, empty = "—"): Node {
  if (!iso) return document.createTextNode(empty);
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return document.createTextNode(iso);
  const parts = readable.formatToParts(date);
  const at = parts.findIndex((part) => TIME_OF_DAY.has(part.type));
  const text = (from: number, to?: number) =>
    parts
      .slice(from, to)
      .map((part) => part.value)
      .join("");
  if (at <= 0) return h("time", { datetime: iso, title: iso }, text(0));
  return h(
    "time",
    { datetime: iso, title: iso },
    h("span", { class: "day" }, text(0, at).trimEnd()),
    " ",
    h("span", { class: "clock" }, text(at)),
  );
}

/** A labelled field: `<div class="field"><label for>…</label>control</div>`. */
export function field(
  label: string,
  control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement,
  hint?: string,
): HTMLElement {
  control.id ||= uniqueId("field");
  const hintElement = hint ? h("small", { id: uniqueId("hint"), class: "hint" }, hint) : null;
  if (hintElement) control.setAttribute("aria-describedby", hintElement.id);
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control, hintElement);
}

/** A `<select>` of `values`, with `selected` chosen. */
export function select(
  values: readonly string[],
  selected: string | undefined,
  attributes: Attributes = {},
): HTMLSelectElement {
  return h(
    "select",
    attributes,
    ...values.map((value) => h("option", { value, selected: value === selected }, value)),
  );
}

/** A table with a caption and `<th scope="col">` headers; rows are filled in by the caller. */
export function table(
  caption: string,
  headers: readonly string[],
): { table: HTMLTableElement; body: HTMLTableSectionElement } {
  const body = h("tbody");
  const element = h(
    "table",
    {},
    // The section's heading already shows; the caption names the table for screen readers.
    h("caption", { class: "visually-hidden" }, caption),
    h("thead", {}, h("tr", {}, ...headers.map((name) => h("th", { scope: "col" }, name)))),
    body,
  );
  return { table: element, body };
}

/** A row spanning the whole table: "Loading…", "No keys yet.", … */
export function messageRow(columns: number, text: string): HTMLTableRowElement {
  return h("tr", { class: "empty" }, h("td", { colspan: columns }, text));
}

/**
 * Runs `work` for a button or form's submit button, once at a time: while it runs the control
 * says it is busy (`aria-disabled`) and ignores presses, but keeps keyboard focus, which
 * `disabled` would drop on the page's body.
 */
export async function whileBusy(control: HTMLElement, work: () => Promise<void>): Promise<void> {
  if (control.getAttribute("aria-disabled") === "true") return;
  control.setAttribute("aria-disabled", "true");
  try {
    await work();
  } finally {
    control.removeAttribute("aria-disabled");
  }
}
