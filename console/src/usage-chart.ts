import { h, readableDate, uniqueId } from "./dom";

/** One point of a usage series, as GET …/usage answers it. */
export interface UsagePoint {
  t: string;
  valid: number;
  refused: Record<string, number>;
}

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 720;
const HEIGHT = 180;
const PAD = { top: 10, right: 8, bottom: 22, left: 40 };

const svg = (tag: string, attributes: Record<string, string | number>) => {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) {
    element.setAttribute(name, String(value));
  }
  return element;
};

const refusedOf = (point: UsagePoint) =>
  Object.values(point.refused).reduce((sum, n) => sum + n, 0);

/** "3 refused (SIGNATURE_MISMATCH 2, EXPIRED 1)" */
function refusedText(point: UsagePoint): string {
  const total = refusedOf(point);
  const codes = Object.entries(point.refused)
    .sort(([, a], [, b]) => b - a)
    .map(([code, n]) => `${code} ${n}`);
  return `${total} refused${codes.length ? ` (${codes.join(", ")})` : ""}`;
}

/** When a point starts, as its label says it: a time of day for hours, a date for days. */
const labelOf = (iso: string, daily: boolean) =>
  daily
    ? new Date(iso).toLocaleDateString(undefined, { month: "short", day: "numeric" })
    : readableDate(iso);

/**
 * A bar chart of a usage series in plain SVG: valid (bottom) and refused (stacked on top) per
 * point. Each bar can be hovered or focused (Tab, arrow keys) to show its exact numbers; a
 * visually hidden table holds the same numbers for screen readers.
 */
export function usageChart(title: string, series: UsagePoint[], daily: boolean): HTMLElement {
  const max = Math.max(1, ...series.map((p) => p.valid + refusedOf(p)));
  const plotWidth = WIDTH - PAD.left - PAD.right;
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const step = plotWidth / Math.max(1, series.length);
  const barWidth = Math.max(1, step * 0.7);
  const y = (n: number) => (n / max) * plotHeight;

  const readout = h("p", { class: "usage-readout", "aria-live": "polite" }, " ");
  const titleId = uniqueId("chart");
  const chart = svg("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    class: "usage-chart",
    role: "group",
    "aria-labelledby": titleId,
  });
  // The axis: the top value and zero.
  for (const [value, at] of [
    [max, PAD.top],
    [0, PAD.top + plotHeight],
  ] as const) {
    const label = svg("text", { x: PAD.left - 6, y: at + 4, "text-anchor": "end", class: "axis" });
    label.textContent = String(value);
    chart.append(
      label,
      svg("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: at, y2: at, class: "grid" }),
    );
  }

  const bars: SVGGElement[] = [];
  series.forEach((point, i) => {
    const refused = refusedOf(point);
    const x = PAD.left + i * step + (step - barWidth) / 2;
    const base = PAD.top + plotHeight;
    const text = `${labelOf(point.t, daily)}: ${point.valid} valid, ${refusedText(point)}`;
    const bar = svg("g", {
      class: "bar",
      tabindex: i === series.length - 1 ? 0 : -1,
      role: "img",
      "aria-label": text,
      "data-t": point.t,
      "data-valid": point.valid,
      "data-refused": refused,
    }) as SVGGElement;
    const tip = svg("title", {});
    tip.textContent = text;
    // A full-height target, so a zero bar can still be hovered.
    bar.append(
      tip,
      svg("rect", {
        x: PAD.left + i * step,
        y: PAD.top,
        width: step,
        height: plotHeight,
        class: "hit",
      }),
      svg("rect", {
        x,
        y: base - y(point.valid),
        width: barWidth,
        height: y(point.valid),
        class: "valid",
      }),
      svg("rect", {
        x,
        y: base - y(point.valid) - y(refused),
        width: barWidth,
        height: y(refused),
        class: "refused",
      }),
    );
    const show = () => {
      readout.textContent = text;
      for (const other of bars) other.classList.toggle("current", other === bar);
    };
    bar.addEventListener("mouseenter", show);
    bar.addEventListener("focus", show);
    bar.addEventListener("keydown", (event) => {
      const move = { ArrowLeft: -1, ArrowRight: 1 }[(event as KeyboardEvent).key];
      const next = move === undefined ? undefined : bars[i + move];
      if (!next) return;
      event.preventDefault();
      bar.setAttribute("tabindex", "-1");
      next.setAttribute("tabindex", "0");
      next.focus();
    });
    bars.push(bar);
    chart.append(bar);
  });
  // First and last labels under the bars.
  for (const [index, anchor] of [
    [0, "start"],
    [series.length - 1, "end"],
  ] as const) {
    const point = series[index];
    if (!point) continue;
    const label = svg("text", {
      x: anchor === "start" ? PAD.left : WIDTH - PAD.right,
      y: HEIGHT - 6,
      "text-anchor": anchor,
      class: "axis",
    });
    label.textContent = labelOf(point.t, daily);
    chart.append(label);
  }

  const rows = series.map((p) =>
    h(
      "tr",
      {},
      h("th", { scope: "row" }, labelOf(p.t, daily)),
      h("td", {}, String(p.valid)),
      h("td", {}, refusedText(p)),
    ),
  );
  return h(
    "figure",
    { class: "usage-figure" },
    h("figcaption", { id: titleId }, title),
    h(
      "p",
      { class: "usage-legend", "aria-hidden": "true" },
      h("span", { class: "swatch valid" }),
      " valid ",
      h("span", { class: "swatch refused" }),
      " refused",
    ),
    chart,
    readout,
    h(
      "table",
      { class: "visually-hidden" },
      h("caption", {}, title),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, "From"),
          h("th", { scope: "col" }, "Valid"),
          h("th", { scope: "col" }, "Refused"),
        ),
      ),
      h("tbody", {}, ...rows),
    ),
  );
}
