import { auditSection } from "./audit";
import { fill, h, time } from "./dom";
import { describeError } from "./feedback";
import { aiKeys, keysSection, storageKeys } from "./keys";
import { providersSection } from "./providers";
import { api } from "./session";
import { routes, type View } from "./view";

/** One repo: its storage keys, its AI keys, its AI provider keys and its audit trail. */
export function repoPage(view: View, repoId: string): Node[] {
  view.setTitle("Repo");
  view.setCrumbs([{ label: "Workspaces", href: routes.workspaces() }, { label: "Repo" }]);
  const summary = h("p", { class: "summary" }, "Loading…");
  const pageAlert = h("div", { class: "alert", role: "alert" });

  void (async () => {
    try {
      const { repo } = await api().repos.get(repoId);
      view.setTitle(repo.name);
      fill(
        summary,
        "Your role: ",
        h("strong", {}, repo.role),
        " · created ",
        time(repo.createdAt),
        " · id ",
        h("code", {}, repo.id),
      );
      // The workspace's name is only for the breadcrumbs: its id will do if the list fails.
      const { workspaces } = await api()
        .workspaces.list()
        .catch(() => ({ workspaces: [] }));
      const workspace = workspaces.find((each) => each.id === repo.workspaceId);
      view.setCrumbs([
        { label: "Workspaces", href: routes.workspaces() },
        { label: workspace?.name ?? repo.workspaceId, href: routes.workspace(repo.workspaceId) },
        { label: repo.name },
      ]);
    } catch (error) {
      fill(summary);
      fill(pageAlert, ...describeError(error));
    }
  })();

  return [
    summary,
    pageAlert,
    keysSection(storageKeys, repoId),
    keysSection(aiKeys, repoId),
    providersSection(repoId),
    auditSection("Repo audit events", (query) => api().audit.repo(repoId, query)),
  ];
}
