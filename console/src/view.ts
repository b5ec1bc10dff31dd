import { fill, h } from "./dom";

export interface Crumb {
  label: string;
  /** A hash route such as `#/workspace/<id>`; the current page has none. */
  href?: string;
}

/**
 * What a page may change outside its own content: its heading (and the document's title) and
 * the breadcrumbs. A page still loading after the user has moved on changes nothing.
 */
export interface View {
  setTitle(title: string): void;
  setCrumbs(crumbs: Crumb[]): void;
}

export const routes = {
  workspaces: () => "#/",
  workspace: (id: string) => `#/workspace/${encodeURIComponent(id)}`,
  repo: (id: string) => `#/repo/${encodeURIComponent(id)}`,
};

export type Route =
  | { page: "workspaces" }
  | { page: "workspace"; id: string }
  | { page: "repo"; id: string }
  | { page: "not-found" };

export function parseRoute(hash: string): Route {
  const [, page, id, ...rest] = hash.replace(/^#/, "").split("/");
  if (!page && !id) return { page: "workspaces" };
  if (rest.length === 0 && id && (page === "workspace" || page === "repo")) {
    return { page, id: decodeURIComponent(id) };
  }
  return { page: "not-found" };
}

/** The breadcrumb trail: an ordered list of links, the last one the current page. */
export function renderCrumbs(nav: HTMLElement, crumbs: Crumb[]): void {
  fill(
    nav,
    crumbs.length
      ? h(
          "ol",
          {},
          ...crumbs.map((crumb, index) =>
            h(
              "li",
              {},
              crumb.href && index < crumbs.length - 1
                ? h("a", { href: crumb.href }, crumb.label)
                : h("span", { "aria-current": "page" }, crumb.label),
            ),
          ),
        )
      : null,
  );
}
