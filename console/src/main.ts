// The console's entry: the page frame (header, breadcrumbs, main), the sign-in gate and the
// hash router. Routes carry ids only (`#/workspace/<id>`, `#/repo/<id>`), never a secret.

import type { FlashgateError } from "@flashgate/client";
import { fill, h } from "./dom";
import { repoPage } from "./repo";
import { currentUser, signedIn, signOut, whenSessionEnds } from "./session";
import { signInPage } from "./sign-in";
import { type Crumb, parseRoute, renderCrumbs, routes, type View } from "./view";
import { workspacePage, workspacesPage } from "./workspaces";

const account = required("account");
const breadcrumbs = required("breadcrumbs");
const main = required("main");

/** Bumped on every render: a page that finishes loading after the next render is stale. */
let generation = 0;
/** Why the last session ended, if the API ended it: shown once on the sign-in page. */
let endedBy: FlashgateError | undefined;

function render({ focusHeading }: { focusHeading: boolean }): void {
  const current = ++generation;
  const heading = h("h1", { tabindex: -1 });
  const view: View = {
    setTitle(title: string) {
      if (current !== generation) return;
      fill(heading, title);
      document.title = `${title} · Flashgate console`;
    },
    setCrumbs(crumbs: Crumb[]) {
      if (current === generation) renderCrumbs(breadcrumbs, crumbs);
    },
  };

  renderAccount();
  if (!signedIn()) {
    const reason = endedBy;
    endedBy = undefined;
    fill(main, heading, ...signInPage(view, () => render({ focusHeading: true }), reason));
    return;
  }
  const route = parseRoute(location.hash);
  const content =
    route.page === "workspaces"
      ? workspacesPage(view)
      : route.page === "workspace"
        ? workspacePage(view, route.id)
        : route.page === "repo"
          ? repoPage(view, route.id)
          : notFound(view);
  fill(main, heading, ...content);
  // Moving to a new page takes keyboard and screen reader users to its heading.
  if (focusHeading) heading.focus();
}

function renderAccount(): void {
  if (!signedIn()) {
    fill(account);
    return;
  }
  const user = currentUser();
  fill(
    account,
    user ? h("span", { class: "user" }, "Signed in as ", h("code", {}, user)) : null,
    h(
      "button",
      {
        type: "button",
        class: "secondary",
        onclick: () => {
          signOut();
          render({ focusHeading: true });
        },
      },
      "Sign out",
    ),
  );
}

function notFound(view: View): Node[] {
  view.setTitle("Page not found");
  view.setCrumbs([{ label: "Workspaces", href: routes.workspaces() }, { label: "Not found" }]);
  return [
    h(
      "p",
      {},
      "There is no such page in the console. ",
      h("a", { href: routes.workspaces() }, "Back to your workspaces"),
    ),
  ];
}

function required(id: string): HTMLElement {
  const element = document.getElementById(id);
  if (!element) throw new Error(`index.html has no #${id}`);
  return element;
}

whenSessionEnds((reason) => {
  endedBy = reason;
  render({ focusHeading: true });
});
window.addEventListener("hashchange", () => render({ focusHeading: true }));
render({ focusHeading: false });
