// Lists are rebuilt after every change, which would drop keyboard focus on the page's body.
// Rows carry `data-id` and their controls `data-action`, so the control that replaced the
// focused one can be found again; failing that, the section's heading takes focus.

/** Remembers what has focus now; the function returned puts it back (or on its replacement). */
export function rememberFocus(): (when?: "always" | "if-lost") => void {
  const element = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  const section = element?.closest("section") ?? null;
  const rowId = element?.closest<HTMLElement>("[data-id]")?.dataset.id;
  const action = element?.dataset.action;
  return (when = "always") => {
    if (!element) return;
    const lost = document.activeElement === null || document.activeElement === document.body;
    if (when === "if-lost" && !lost) return;
    if (element.isConnected) return element.focus();
    const replacement =
      rowId && action
        ? section?.querySelector<HTMLElement>(
            `[data-id="${CSS.escape(rowId)}"] [data-action="${CSS.escape(action)}"]`,
          )
        : null;
    const heading = section?.querySelector<HTMLElement>("h2");
    const target = replacement ?? heading;
    if (!target?.isConnected) return;
    if (target === heading) target.tabIndex = -1;
    target.focus();
  };
}
