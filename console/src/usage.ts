import { fill, h, messageRow, table, uniqueId } from "./dom";
import { describeError } from "./feedback";
import { api } from "./session";
import { type UsagePoint, usageChart } from "./usage-chart";

const RANGES = {
  day: { label: "Last 24 hours", ms: 24 * 3_600_000, granularity: "hour" },
  month: { label: "Last 30 days", ms: 30 * 86_400_000, granularity: "day" },
} as const;
type RangeName = keyof typeof RANGES;

/** Which key the panel shows. */
export interface UsedKey {
  kind: "storage" | "ai";
  id: string;
  name: string;
}

/**
 * A panel under a repo's keys: one key's usage chart (valid vs refused) and, for an AI key, its
 * provider tokens, the last 24 hours by hour or the last 30 days by day. `show(key)` opens it on a key and moves focus to its heading.
 */
export function keyUsagePanel(repoId: string): {
  element: HTMLElement;
  show(key: UsedKey): void;
} {
  const headingId = uniqueId("usage");
  const heading = h("h3", { id: headingId, tabindex: -1 }, "Usage");
  const body = h("div", { class: "usage-body" });
  const toggles = Object.fromEntries(
    (Object.keys(RANGES) as RangeName[]).map((name) => [
      name,
      h(
        "button",
        { type: "button", class: "secondary small", "aria-pressed": "false", "data-range": name },
        RANGES[name].label,
      ),
    ]),
  ) as Record<RangeName, HTMLButtonElement>;
  const element = h(
    "section",
    { class: "usage-panel", "aria-labelledby": headingId, hidden: true },
    heading,
    h(
      "div",
      { class: "usage-toggles", role: "group", "aria-label": "Range" },
      ...Object.values(toggles),
    ),
    body,
  );
  let current: UsedKey | undefined;
  let range: RangeName = "day";

  async function load() {
    const key = current;
    if (!key) return;
    for (const [name, toggle] of Object.entries(toggles)) {
      toggle.setAttribute("aria-pressed", String(name === range));
    }
    fill(body, h("p", {}, "Loading…"));
    const { ms, granularity, label } = RANGES[range];
    const query = { from: new Date(Date.now() - ms).toISOString(), granularity };
    try {
      const usage =
        key.kind === "storage"
          ? await api().usage.storageKey(repoId, key.id, query)
          : await api().usage.aiKey(repoId, key.id, query);
      if (current !== key) return;
      const refused = Object.values(usage.totals.refused).reduce((sum, n) => sum + n, 0);
      fill(
        body,
        h(
          "p",
          { class: "usage-totals" },
          `${label}: `,
          h("strong", { "data-total": "valid" }, String(usage.totals.valid)),
          " valid, ",
          h("strong", { "data-total": "refused" }, String(refused)),
          " refused.",
        ),
        // An AI key's provider tokens through the AI gateway: not verifications, said apart.
        ...(key.kind === "ai"
          ? [
              h(
                "p",
                { class: "usage-tokens" },
                "Tokens: ",
                h("strong", { "data-total": "input-tokens" }, String(usage.totals.tokens.input)),
                " input, ",
                h("strong", { "data-total": "output-tokens" }, String(usage.totals.tokens.output)),
                " output.",
              ),
            ]
          : []),
        usageChart(
          `Verifications of “${key.name}”, ${label.toLowerCase()}`,
          usage.series as UsagePoint[],
          granularity === "day",
        ),
      );
    } catch (error) {
      fill(body, h("div", { class: "alert", role: "alert" }, ...describeError(error)));
    }
  }

  for (const [name, toggle] of Object.entries(toggles) as [RangeName, HTMLButtonElement][]) {
    toggle.addEventListener("click", () => {
      range = name;
      void load();
    });
  }
  return {
    element,
    show(key) {
      current = key;
      fill(heading, `Usage of “${key.name}”`);
      element.hidden = false;
      heading.focus();
      void load();
    },
  };
}

/** A repo's busiest keys over the last 24 hours (GET /repo/{repoId}/usage). */
export function repoUsageSection(repoId: string): HTMLElement {
  const headingId = uniqueId("repo-usage");
  const columns = ["Key", "Kind", "Valid", "Refused", "Total"];
  const { table: element, body } = table("Busiest keys, last 24 hours", columns);
  fill(body, messageRow(columns.length, "Loading…"));
  void (async () => {
    try {
      const { keys } = await api().usage.repo(repoId, { limit: 10 });
      fill(
        body,
        ...(keys.length
          ? keys.map((key) =>
              h(
                "tr",
                { "data-id": key.id },
                h("th", { scope: "row" }, key.name ?? key.id, key.deleted ? " (revoked)" : ""),
                h("td", {}, key.kind === "ai" ? "AI" : "Storage"),
                h("td", {}, String(key.valid)),
                h("td", {}, String(key.total - key.valid)),
                h("td", {}, String(key.total)),
              ),
            )
          : [messageRow(columns.length, "No verifications in the last 24 hours.")]),
      );
    } catch (error) {
      fill(body, messageRow(columns.length, "Usage could not be read."));
      element.after(h("div", { class: "alert", role: "alert" }, ...describeError(error)));
    }
  })();
  return h(
    "section",
    { class: "card", "aria-labelledby": headingId },
    h("h2", { id: headingId }, "Busiest keys (last 24 hours)"),
    element,
  );
}
