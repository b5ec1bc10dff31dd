import { auditSection } from "./audit";
import { field, fill, h, messageRow, table, time, uniqueId, whileBusy } from "./dom";
import { describeError, feedback } from "./feedback";
import { membersSection } from "./members";
import { api } from "./session";
import { routes, type View } from "./view";

/**
 * The workspaces the user belongs to, and a form to create one. The page's heading names it: no
 * breadcrumb trail of itself alone, and no section heading repeating it.
 */
export function workspacesPage(view: View): Node[] {
  view.setTitle("Workspaces");
  view.setCrumbs([]);
  const columns = ["Name", "Your role", "Created"];
  const result = feedback();
  const { table: list, body } = table("Your workspaces", columns);

  async function load(): Promise<void> {
    try {
      const { workspaces } = await api().workspaces.list();
      fill(
        body,
        ...(workspaces.length
          ? workspaces.map((workspace) =>
              h(
                "tr",
                { "data-id": workspace.id },
                h("td", {}, h("a", { href: routes.workspace(workspace.id) }, workspace.name)),
                h("td", {}, workspace.role),
                h("td", {}, time(workspace.createdAt)),
              ),
            )
          : [messageRow(columns.length, "You are not a member of any workspace yet.")]),
      );
    } catch (error) {
      fill(body, messageRow(columns.length, "The workspaces could not be listed."));
      result.failed(error);
    }
  }

  const form = createForm("Create workspace", "Workspace name", async (name) => {
    await api().workspaces.create({ name });
    result.done(`The workspace “${name}” was created.`);
    await load();
  });
  fill(body, messageRow(columns.length, "Loading…"));
  void load();
  return [
    h(
      "div",
      { class: "card" },
      h("div", { class: "table-scroll" }, list),
      result.element,
      form.element,
    ),
  ];
}

/** One workspace: its repositories (and a create form), its members and its audit trail. */
export function workspacePage(view: View, workspaceId: string): Node[] {
  view.setTitle("Workspace");
  view.setCrumbs([{ label: "Workspaces", href: routes.workspaces() }, { label: "Workspace" }]);
  const summary = h("p", { class: "summary" }, "Loading…");
  const pageAlert = h("div", { class: "alert", role: "alert" });

  // The API has no "get workspace": its name and the caller's role come from the list.
  void api()
    .workspaces.list()
    .then(({ workspaces }) => {
      const workspace = workspaces.find((each) => each.id === workspaceId);
      if (!workspace) {
        fill(summary, "This workspace is not among yours.");
        return;
      }
      view.setTitle(workspace.name);
      view.setCrumbs([
        { label: "Workspaces", href: routes.workspaces() },
        { label: workspace.name },
      ]);
      fill(
        summary,
        "Your role: ",
        h("strong", {}, workspace.role),
        " · created ",
        time(workspace.createdAt),
        " · id ",
        h("code", {}, workspace.id),
      );
    })
    .catch((error: unknown) => {
      fill(summary);
      fill(pageAlert, ...describeError(error));
    });

  return [
    summary,
    pageAlert,
    reposSection(workspaceId),
    membersSection(workspaceId),
    auditSection("Workspace audit events", (query) => api().audit.workspace(workspaceId, query)),
  ];
}

function reposSection(workspaceId: string): HTMLElement {
  const columns = ["Name", "Your role", "Created"];
  const result = feedback();
  const { table: list, body } = table("Repositories", columns);

  async function load(): Promise<void> {
    try {
      const { repos } = await api().repos.list({ workspaceId });
      fill(
        body,
        ...(repos.length
          ? repos.map((repo) =>
              h(
                "tr",
                { "data-id": repo.id },
                h("td", {}, h("a", { href: routes.repo(repo.id) }, repo.name)),
                h("td", {}, repo.role),
                h("td", {}, time(repo.createdAt)),
              ),
            )
          : [messageRow(columns.length, "No repositories yet.")]),
      );
    } catch (error) {
      fill(body, messageRow(columns.length, "The repositories could not be listed."));
      result.failed(error);
    }
  }

  const form = createForm("Create repo", "Repo name", async (name) => {
    await api().repos.create({ name, workspaceId });
    result.done(`The repo “${name}” was created.`);
    await load();
  });
  fill(body, messageRow(columns.length, "Loading…"));
  void load();
  return section(
    "Repositories",
    h("div", { class: "table-scroll" }, list),
    result.element,
    form.element,
  );
}

/** A one-field form ("name" + button) whose failures show in its own alert region. */
function createForm(
  label: string,
  fieldLabel: string,
  create: (name: string) => Promise<void>,
): { element: HTMLFormElement } {
  const result = feedback();
  const name = h("input", { type: "text", name: "name", required: true, autocomplete: "off" });
  const submit = h("button", { type: "submit", class: "primary" }, label);
  const element = h(
    "form",
    { class: "inline-form", "aria-label": label },
    field(fieldLabel, name),
    submit,
    result.element,
  );
  element.addEventListener("submit", (event) => {
    event.preventDefault();
    void whileBusy(submit, async () => {
      result.clear();
      try {
        await create(name.value.trim());
        element.reset();
      } catch (error) {
        result.failed(error);
      }
    });
  });
  return { element };
}

/** A page section titled by its `<h2>`. */
export function section(title: string, ...content: Node[]): HTMLElement {
  const headingId = uniqueId("section");
  return h(
    "section",
    { "aria-labelledby": headingId },
    h("h2", { id: headingId }, title),
    ...content,
  );
}
