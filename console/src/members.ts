import type { Role } from "@flashgate/client";
import { formDialog } from "./dialogs";
import { field, fill, h, messageRow, select, table, time, uniqueId, whileBusy } from "./dom";
import { feedback } from "./feedback";
import { rememberFocus } from "./focus";
import { api, currentUser } from "./session";

const ROLES: readonly Role[] = ["READ", "WRITE", "ADMIN"];
const COLUMNS = ["User id", "Role", "Added", "Actions"] as const;

/**
 * A workspace's members: list, add, change role, remove. Who may do which (and the rule that
 * a workspace keeps an admin) is the API's to say: its refusals are shown as they come.
 */
export function membersSection(workspaceId: string): HTMLElement {
  const headingId = uniqueId("members");
  const result = feedback();
  const { table: members, body } = table("Workspace members", COLUMNS);

  async function load(): Promise<void> {
    const restoreFocus = rememberFocus();
    try {
      const { users } = await api().workspaces.members.list(workspaceId);
      fill(
        body,
        ...(users.length ? users.map(memberRow) : [messageRow(COLUMNS.length, "No members.")]),
      );
    } catch (error) {
      fill(body, messageRow(COLUMNS.length, "The members could not be listed."));
      result.failed(error);
    }
    restoreFocus("if-lost");
  }

  function memberRow(member: { userId: string; role: Role; createdAt: string }) {
    // The signed-in user's own row: removing it removes them.
    const isYou = member.userId === currentUser();
    const role = select(ROLES, member.role, {
      "aria-label": `Role of ${member.userId}`,
      "data-action": "role",
    });
    const save = h(
      "button",
      { type: "button", class: "secondary small", "data-action": "save" },
      "Save",
    );
    save.addEventListener("click", () => {
      void whileBusy(save, async () => {
        result.clear();
        try {
          await api().workspaces.members.update(workspaceId, member.userId, {
            role: role.value as Role,
          });
          result.done(`${member.userId} is now ${role.value}.`);
          await load();
        } catch (error) {
          result.failed(error);
          role.value = member.role;
        }
      });
    });
    const remove = h(
      "button",
      { type: "button", class: "danger small", "data-action": "remove" },
      "Remove",
    );
    remove.addEventListener("click", () =>
      formDialog({
        title: isYou ? "Remove yourself" : "Remove member",
        intro: [
          isYou
            ? h(
                "p",
                {},
                "Remove yourself (",
                h("code", {}, member.userId),
                ") from this workspace? You lose access to all of its repositories until an ADMIN adds you again.",
              )
            : h(
                "p",
                {},
                "Remove ",
                h("code", {}, member.userId),
                " from this workspace? They lose access to all of its repositories.",
              ),
        ],
        submitLabel: isYou ? "Remove myself" : "Remove member",
        danger: true,
        submit: async () => {
          await api().workspaces.members.remove(workspaceId, member.userId);
          result.done(isYou ? "You were removed." : `${member.userId} was removed.`);
          await load();
        },
      }),
    );
    return h(
      "tr",
      { "data-id": member.userId },
      h("td", {}, h("code", {}, member.userId), isYou ? " (you)" : null),
      h("td", {}, h("div", { class: "inline-edit" }, role, save)),
      h("td", {}, time(member.createdAt)),
      h("td", { class: "actions" }, remove),
    );
  }

  const userId = h("input", { type: "text", name: "userId", required: true, autocomplete: "off" });
  const role = select(ROLES, "READ", { name: "role" });
  const add = h("button", { type: "submit", class: "primary" }, "Add member");
  const form = h(
    "form",
    { class: "inline-form", "aria-label": "Add a member" },
    field("User id", userId),
    field("Role", role),
    add,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void whileBusy(add, async () => {
      result.clear();
      try {
        const id = userId.value.trim();
        await api().workspaces.members.add(workspaceId, { userId: id, role: role.value as Role });
        form.reset();
        result.done(`${id} was added as ${role.value}.`);
        await load();
      } catch (error) {
        result.failed(error);
      }
    });
  });

  fill(body, messageRow(COLUMNS.length, "Loading…"));
  void load();
  return h(
    "section",
    { class: "members", "aria-labelledby": headingId },
    h("h2", { id: headingId }, "Members"),
    h("div", { class: "table-scroll" }, members),
    result.element,
    form,
  );
}
