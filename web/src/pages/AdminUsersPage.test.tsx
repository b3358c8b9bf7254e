import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ada, apiError, json, mockFetch, noContent, root } from "../test/fetchMock";
import { renderApp } from "../test/renderApp";

afterEach(() => vi.unstubAllGlobals());

const grace = { ...ada, id: 9, username: "grace" };

describe("Admin users", () => {
  it("deletes a user only after the second, confirming click", async () => {
    const { requests } = mockFetch({
      "GET /api/check_session": () => json(root),
      "GET /api/users": () => json({ users: [root, ada], next: null }),
      "DELETE /api/users/7": () => noContent(),
    });
    renderApp("/admin/users");

    await userEvent.click(await screen.findByRole("button", { name: "Delete ada" }));
    expect(requests.some((r) => r.method === "DELETE")).toBe(false);
    const confirm = screen.getByRole("group", { name: "Delete ada for good?" });
    expect(within(confirm).getByRole("button", { name: "Delete" })).toHaveFocus();

    await userEvent.click(within(confirm).getByRole("button", { name: "Delete" }));

    await vi.waitFor(() => expect(screen.queryByRole("cell", { name: "ada" })).not.toBeInTheDocument());
    expect(requests.filter((r) => r.method === "DELETE").map((r) => r.path)).toEqual(["/api/users/7"]);
    // An admin is never offered to delete or sign out themselves from this table.
    expect(screen.queryByRole("button", { name: "Delete root" })).not.toBeInTheDocument();
  });

  it("pages forward with the after cursor and back again", async () => {
    const { requests } = mockFetch({
      "GET /api/check_session": () => json(root),
      "GET /api/users?limit=50": () => json({ users: [root, ada], next: 7 }),
      "GET /api/users?limit=50&after=7": () => json({ users: [grace], next: null }),
    });
    renderApp("/admin/users");

    await userEvent.click(await screen.findByRole("button", { name: "Next →" }));
    expect(await screen.findByRole("cell", { name: "grace" })).toBeInTheDocument();
    expect(screen.queryByRole("cell", { name: "ada" })).not.toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Next →" })).toBeDisabled();

    await userEvent.click(screen.getByRole("button", { name: "← Previous" }));
    expect(await screen.findByRole("cell", { name: "ada" })).toBeInTheDocument();
    expect(requests.map((r) => r.path).filter((p) => p.startsWith("/api/users"))).toEqual([
      "/api/users?limit=50",
      "/api/users?limit=50&after=7",
      "/api/users?limit=50",
    ]);
  });

  it("saves roles as user + admin + the custom ones, and explains last_admin", async () => {
    let answer = () => apiError(409, "last_admin");
    const { requests } = mockFetch({
      "GET /api/check_session": () => json(root),
      "GET /api/users": () => json({ users: [root, ada], next: null }),
      "PUT /api/users/7/roles": () => answer(),
    });
    renderApp("/admin/users");

    await userEvent.click(await screen.findByRole("button", { name: "Edit roles of ada" }));
    const form = screen.getByRole("form", { name: "Roles of ada" });
    await userEvent.click(within(form).getByLabelText("Administrator"));
    await userEvent.type(within(form).getByLabelText("Other roles"), "editor, billing");
    await userEvent.click(within(form).getByRole("button", { name: "Save roles" }));

    expect(await within(form).findByRole("alert")).toHaveTextContent("That would leave no administrator.");
    expect(requests.find((r) => r.method === "PUT")?.json).toEqual({ roles: ["user", "admin", "editor", "billing"] });

    answer = () => json({ ...ada, roles: ["user", "admin", "editor", "billing"] });
    await userEvent.click(within(form).getByRole("button", { name: "Save roles" }));
    expect(await screen.findByText("Roles of ada saved.")).toBeInTheDocument();
    const row = screen.getByRole("cell", { name: "ada" }).closest("tr") as HTMLElement;
    expect(within(row).getByText("billing")).toBeInTheDocument();
    expect(within(row).getByText("admin")).toBeInTheDocument();
  });

  it("refuses a malformed role name before asking the server", async () => {
    const { requests } = mockFetch({
      "GET /api/check_session": () => json(root),
      "GET /api/users": () => json({ users: [root, ada], next: null }),
    });
    renderApp("/admin/users");

    await userEvent.click(await screen.findByRole("button", { name: "Edit roles of ada" }));
    const form = screen.getByRole("form", { name: "Roles of ada" });
    await userEvent.type(within(form).getByLabelText("Other roles"), "Billing!");
    await userEvent.click(within(form).getByRole("button", { name: "Save roles" }));

    expect(within(form).getByLabelText("Other roles")).toHaveAccessibleDescription(/"Billing!" is not a valid role name/);
    expect(requests.some((r) => r.method === "PUT")).toBe(false);
  });
});
