import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { apiError, json, mockFetch, noContent, root } from "../test/fetchMock";
import { currentPath, renderApp } from "../test/renderApp";

afterEach(() => vi.unstubAllGlobals());

const notes = {
  client_id: "notes-app",
  name: "Notes",
  public: false,
  redirect_uris: ["https://notes.example/callback"],
  post_logout_redirect_uris: [],
  scopes: ["openid", "email", "profile", "roles", "offline_access"],
  skip_consent: false,
  id_token_signed_response_alg: "RS256",
  created_at: "2026-11-22T12:00:00Z",
};
const cli = {
  ...notes,
  client_id: "cli-app",
  name: "CLI",
  public: true,
  redirect_uris: ["http://127.0.0.1/callback", "http://[::1]/callback"],
  skip_consent: true,
};
const secret = "s".repeat(43);
const admin = { "GET /api/check_session": () => json(root) };

function row(name: string): HTMLElement {
  return screen.getByRole("cell", { name }).closest("tr") as HTMLElement;
}

async function fillNewApp({ name = "Wiki", redirects = "https://wiki.example/cb" }: { name?: string; redirects?: string } = {}) {
  const form = await screen.findByRole("form", { name: "Add an app" });
  if (name) await userEvent.type(within(form).getByLabelText("Name"), name);
  if (redirects) await userEvent.type(within(form).getByLabelText("Redirect URIs"), redirects);
  return form;
}

describe("Admin apps", () => {
  it("is a tab beside Users and Audit log, listing every app", async () => {
    mockFetch({ ...admin, "GET /api/oauth2/clients": () => json({ clients: [notes, cli] }) });
    const { router } = renderApp("/admin/apps");

    const nav = await screen.findByRole("navigation", { name: "Administration" });
    expect(within(nav).getAllByRole("link").map((link) => link.textContent)).toEqual(["Users", "Apps", "Audit log"]);
    expect(within(nav).getByRole("link", { name: "Apps" })).toHaveAttribute("aria-current", "page");
    await waitFor(() => expect(document.title).toBe("Apps · latchkey"));
    expect(currentPath(router)).toBe("/admin/apps");

    await screen.findByRole("cell", { name: "Notes" });
    expect(within(row("Notes")).getByRole("cell", { name: "notes-app" })).toBeInTheDocument();
    expect(within(row("Notes")).getByText("Confidential")).toBeInTheDocument();
    expect(within(row("Notes")).getByText("Asked")).toBeInTheDocument();
    expect(within(row("CLI")).getByText("Public")).toBeInTheDocument();
    expect(within(row("CLI")).getByText("Skipped")).toBeInTheDocument();
    expect(within(row("CLI")).getByText("http://[::1]/callback")).toBeInTheDocument();
    // A public client has no secret to replace.
    expect(screen.getByRole("button", { name: "New secret for Notes" })).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "New secret for CLI" })).not.toBeInTheDocument();
  });

  it("says so when there are no apps yet", async () => {
    mockFetch({ ...admin, "GET /api/oauth2/clients": () => json({ clients: [] }) });
    renderApp("/admin/apps");
    expect(await screen.findByText("No apps yet. Add the first one below.")).toBeInTheDocument();
  });

  it("adds a confidential app and shows its secret once, with a warning", async () => {
    const { requests } = mockFetch({
      ...admin,
      "GET /api/oauth2/clients": () => json({ clients: [notes] }),
      "POST /api/oauth2/clients": () =>
        json({ ...notes, client_id: "wiki-app", name: "Wiki", redirect_uris: ["https://wiki.example/cb"], client_secret: secret }, 201),
    });
    renderApp("/admin/apps");

    const form = await fillNewApp({ redirects: "  https://wiki.example/cb  {enter}{enter}https://wiki.example/cb2" });
    await userEvent.type(within(form).getByLabelText("Post-logout redirect URIs"), "https://wiki.example/");
    await userEvent.click(within(form).getByLabelText("Skip consent"));
    await userEvent.selectOptions(within(form).getByLabelText("ID token algorithm"), "EdDSA");
    await userEvent.click(within(form).getByRole("button", { name: "Add app" }));

    const panel = await screen.findByRole("region", { name: "Added Wiki" });
    expect(panel).toHaveTextContent("wiki-app");
    expect(within(panel).getByText(secret)).toBeInTheDocument();
    expect(within(panel).getByRole("status")).toHaveTextContent("Copy it now: it will not be shown again.");
    expect(within(panel).getByRole("heading", { name: "Added Wiki" })).toHaveFocus();
    expect(requests.find((r) => r.method === "POST")?.json).toEqual({
      name: "Wiki",
      redirect_uris: ["https://wiki.example/cb", "https://wiki.example/cb2"],
      post_logout_redirect_uris: ["https://wiki.example/"],
      public: false,
      skip_consent: true,
      id_token_signed_response_alg: "EdDSA",
    });
    // The app joins the list, and the form is ready for the next one.
    expect(screen.getByRole("cell", { name: "Wiki" })).toBeInTheDocument();
    expect(within(form).getByLabelText("Name")).toHaveValue("");

    await userEvent.click(within(panel).getByRole("button", { name: "Done" }));
    expect(screen.queryByText(secret)).not.toBeInTheDocument();
  });

  it("copies the secret when the browser allows it", async () => {
    const user = userEvent.setup();
    mockFetch({
      ...admin,
      "GET /api/oauth2/clients": () => json({ clients: [] }),
      "POST /api/oauth2/clients": () => json({ ...notes, client_secret: secret }, 201),
    });
    renderApp("/admin/apps");

    await user.type(await screen.findByLabelText("Name"), "Notes");
    await user.type(screen.getByLabelText("Redirect URIs"), "https://notes.example/callback");
    await user.click(screen.getByRole("button", { name: "Add app" }));
    await user.click(await screen.findByRole("button", { name: "Copy secret" }));

    expect(await navigator.clipboard.readText()).toBe(secret);
    expect(screen.getByRole("button", { name: "Copied" })).toBeInTheDocument();
  });

  it("adds a public app with its client ID alone", async () => {
    const { requests } = mockFetch({
      ...admin,
      "GET /api/oauth2/clients": () => json({ clients: [] }),
      "POST /api/oauth2/clients": () => json(cli, 201),
    });
    renderApp("/admin/apps");

    const form = await fillNewApp({ name: "CLI", redirects: "http://127.0.0.1/callback" });
    await userEvent.click(within(form).getByLabelText("Public client"));
    await userEvent.click(within(form).getByRole("button", { name: "Add app" }));

    const panel = await screen.findByRole("region", { name: "Added CLI" });
    expect(panel).toHaveTextContent("cli-app");
    expect(panel).toHaveTextContent("A public client has no secret");
    expect(panel).not.toHaveTextContent("Client secret");
    expect(requests.find((r) => r.method === "POST")?.json).toMatchObject({ public: true, id_token_signed_response_alg: "RS256" });
  });

  it("shows the server's validation errors next to their fields", async () => {
    mockFetch({
      ...admin,
      "GET /api/oauth2/clients": () => json({ clients: [] }),
      "POST /api/oauth2/clients": () =>
        apiError(422, "validation_failed", {
          fields: { redirect_uris: "must be https, or http on a loopback address", name: "must be at most 100 characters" },
        }),
    });
    renderApp("/admin/apps");

    const form = await fillNewApp({ redirects: "http://wiki.example/cb" });
    await userEvent.click(within(form).getByRole("button", { name: "Add app" }));

    const redirects = within(form).getByLabelText("Redirect URIs");
    expect(await within(form).findByText("Redirect URIs must be https, or http on a loopback address.")).toBeInTheDocument();
    expect(redirects).toHaveAccessibleDescription(/Redirect URIs must be https, or http on a loopback address\./);
    expect(within(form).getByLabelText("Name")).toHaveAccessibleDescription(/Name must be at most 100 characters\./);
    expect(within(form).getByLabelText("Name")).toHaveFocus();
    expect(within(form).getByRole("alert")).toHaveTextContent("Please correct the fields marked below.");
    expect(screen.queryByRole("region", { name: /Added/ })).not.toBeInTheDocument();
  });

  it("asks for a name and a redirect URI before asking the server", async () => {
    const { requests } = mockFetch({ ...admin, "GET /api/oauth2/clients": () => json({ clients: [] }) });
    renderApp("/admin/apps");

    const form = await fillNewApp({ name: "", redirects: "  " });
    await userEvent.click(within(form).getByRole("button", { name: "Add app" }));

    expect(within(form).getByLabelText("Name")).toHaveAccessibleDescription(/Enter a name\./);
    expect(within(form).getByLabelText("Redirect URIs")).toHaveAccessibleDescription(/Enter at least one redirect URI\./);
    expect(requests.some((r) => r.method === "POST")).toBe(false);
  });

  it("deletes an app only after the confirming click", async () => {
    const { requests } = mockFetch({
      ...admin,
      "GET /api/oauth2/clients": () => json({ clients: [notes, cli] }),
      "DELETE /api/oauth2/clients/notes-app": () => noContent(),
    });
    renderApp("/admin/apps");

    await userEvent.click(await screen.findByRole("button", { name: "Delete Notes" }));
    expect(requests.some((r) => r.method === "DELETE")).toBe(false);
    const confirm = screen.getByRole("group", { name: /^Delete Notes\?/ });
    await userEvent.click(within(confirm).getByRole("button", { name: "Delete" }));

    expect(await screen.findByText("Deleted Notes.")).toBeInTheDocument();
    expect(screen.queryByRole("cell", { name: "Notes" })).not.toBeInTheDocument();
    expect(screen.getByRole("cell", { name: "CLI" })).toBeInTheDocument();
    expect(requests.filter((r) => r.method === "DELETE").map((r) => r.path)).toEqual(["/api/oauth2/clients/notes-app"]);
  });

  it("gives a confidential app a new secret, shown once", async () => {
    const { requests } = mockFetch({
      ...admin,
      "GET /api/oauth2/clients": () => json({ clients: [notes] }),
      "POST /api/oauth2/clients/notes-app/secret": () => json({ client_id: "notes-app", client_secret: secret }),
    });
    renderApp("/admin/apps");

    await userEvent.click(await screen.findByRole("button", { name: "New secret for Notes" }));
    expect(requests.some((r) => r.method === "POST")).toBe(false);
    await userEvent.click(screen.getByRole("button", { name: "Replace secret" }));

    const panel = await screen.findByRole("region", { name: "New secret for Notes" });
    expect(within(panel).getByText(secret)).toBeInTheDocument();
    expect(panel).toHaveTextContent("Copy it now: it will not be shown again.");
    expect(requests.filter((r) => r.method === "POST").map((r) => r.path)).toEqual(["/api/oauth2/clients/notes-app/secret"]);

    await userEvent.click(within(panel).getByRole("button", { name: "Done" }));
    expect(screen.queryByText(secret)).not.toBeInTheDocument();
  });

  it("explains a failed action in the app's row", async () => {
    mockFetch({
      ...admin,
      "GET /api/oauth2/clients": () => json({ clients: [notes] }),
      "POST /api/oauth2/clients/notes-app/secret": () => apiError(403, "forbidden"),
    });
    renderApp("/admin/apps");

    await userEvent.click(await screen.findByRole("button", { name: "New secret for Notes" }));
    await userEvent.click(screen.getByRole("button", { name: "Replace secret" }));

    expect(await screen.findByText("You are not allowed to do that.")).toHaveAttribute("role", "alert");
    expect(screen.queryByRole("region", { name: /New secret/ })).not.toBeInTheDocument();
  });
});
