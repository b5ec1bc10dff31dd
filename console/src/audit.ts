import type { AuditPage } from "@flashgate/client";
import { fill, h, messageRow, table, time, uniqueId, whileBusy } from "./dom";
import { feedback } from "./feedback";

type AuditEvent = AuditPage["events"][number];
const PAGE_SIZE = 20;
const COLUMNS = ["Time", "Event", "Actor", "Target", "Request id", "Changes"] as const;

/**
 * The audit trail, newest first, a page at a time. The API only hands out the next (older)
 * page's cursor, so "Newer" walks back a stack of the cursors that led here. Whoever may not
 * read the trail sees the API's refusal in the section, which stays.
 */
export function auditSection(
  describe: string,
  readPage: (query: { limit: number; cursor?: string }) => Promise<AuditPage>,
): HTMLElement {
  const headingId = uniqueId("audit");
  const result = feedback();
  const { table: events, body } = table(`${describe}, newest first`, COLUMNS);
  const position = h("span", { class: "page-position" });
  const newer = h("button", { type: "button", class: "secondary", disabled: true }, "Newer");
  const older = h("button", { type: "button", class: "secondary", disabled: true }, "Older");
  const refresh = h("button", { type: "button", class: "secondary" }, "Refresh");

  let cursor: string | undefined;
  const earlier: (string | undefined)[] = [];
  let next: string | null = null;

  async function load(): Promise<void> {
    fill(body, messageRow(COLUMNS.length, "Loading…"));
    try {
      const page = await readPage({ limit: PAGE_SIZE, cursor });
      next = page.nextCursor;
      result.clear();
      fill(
        body,
        ...(page.events.length
          ? page.events.map(eventRow)
          : [messageRow(COLUMNS.length, "No events.")]),
      );
      fill(position, `Page ${earlier.length + 1}`);
    } catch (error) {
      next = null;
      fill(body, messageRow(COLUMNS.length, "The audit trail could not be read."));
      fill(position);
      result.failed(error);
    }
    const pressed = [newer, older].find((button) => button === document.activeElement);
    newer.disabled = earlier.length === 0;
    older.disabled = next === null;
    // On the first or last page the button just pressed turns off: keep focus in the pager.
    if (pressed?.disabled) {
      const other = pressed === newer ? older : newer;
      (other.disabled ? refresh : other).focus();
    }
  }

  older.addEventListener("click", () =>
    whileBusy(older, async () => {
      if (next === null) return;
      earlier.push(cursor);
      cursor = next;
      await load();
    }),
  );
  newer.addEventListener("click", () =>
    whileBusy(newer, async () => {
      if (earlier.length === 0) return;
      cursor = earlier.pop();
      await load();
    }),
  );
  refresh.addEventListener("click", () => whileBusy(refresh, load));

  void load();
  return h(
    "section",
    { class: "audit", "aria-labelledby": headingId },
    h("h2", { id: headingId }, "Audit trail"),
    h(
      "p",
      { class: "hint" },
      "Changes are recorded a moment after they are made: Refresh to see the newest.",
    ),
    result.element,
    h("div", { class: "table-scroll" }, events),
    h(
      "nav",
      { class: "pager", "aria-label": `${describe} pages` },
      newer,
      position,
      older,
      refresh,
    ),
  );
}

function eventRow(event: AuditEvent): HTMLTableRowElement {
  return h(
    "tr",
    {},
    h("td", {}, time(event.at)),
    h("td", {}, h("code", { class: "event-type" }, event.type)),
    h("td", {}, h("code", {}, event.actorId)),
    h("td", {}, event.targetId ? h("code", {}, event.targetId) : "—"),
    h("td", {}, h("code", { class: "request-id" }, event.requestId)),
    h("td", { class: "changes" }, summarizeChanges(event.changes)),
  );
}

/** `name: "old" → "new"`, one field per line; "—" when the event records none. */
function summarizeChanges(changes: AuditEvent["changes"]): Node {
  const entries = Object.entries(changes ?? {});
  if (entries.length === 0) return document.createTextNode("—");
  return h(
    "ul",
    { class: "change-list" },
    ...entries.map(([name, { before, after }]) => {
      const from = before === undefined ? "" : `${before ?? "none"} → `;
      const to = after === undefined ? "removed" : (after ?? "none");
      return h("li", {}, h("span", { class: "change-field" }, name), `: ${from}${to}`);
    }),
  );
}
