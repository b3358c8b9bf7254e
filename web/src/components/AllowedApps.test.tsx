import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ada, apiError, json, mockFetch, noContent } from "../test/fetchMock";
import { renderApp } from "../test/renderApp";

afterEach(() => vi.unstubAllGlobals());

const notes = {
  id: 5,
  client_id: "notes-app",
  client_name: "Notes",
  scopes: ["openid", "email"],
  created_at: "2026-11-22T12:00:00Z",
  updated_at: "2026-11-22T12:00:00Z",
};
const calendar = { ...notes, id: 6, client_id: "calendar-app", client_name: "Calendar", scopes: ["openid", "offline_access"] };
const account = {
  "GET /api/check_session": () => json(ada),
  "GET /api/me/sessions": () => json([]),
  "GET /api/me/second-factors": () => json({ totp_enabled: false, totp_pending: false, recovery_codes_left: 0, methods: [] }),
};

async function section() {
  return screen.findByRole("region", { name: "Apps you allowed" });
}

describe("Apps you allowed", () => {
  it("lists each app with what it may do, in words, and since when", async () => {
    mockFetch({ ...account, "GET /api/me/grants": () => json({ grants: [notes, calendar] }) });
    renderApp("/account");

    const apps = await section();
    const notesScopes = await within(apps).findByRole("list", { name: "What Notes may do" });
    expect(within(notesScopes).getAllByRole("listitem").map((item) => item.textContent)).toEqual([
      "Know who you are (your account id)",
      "See your email address",
    ]);
    expect(within(apps).getByRole("list", { name: "What Calendar may do" })).toHaveTextContent("Stay connected while you are away");
    const notesItem = notesScopes.closest("li") as HTMLElement;
    expect(within(notesItem).getByText("Notes")).toBeInTheDocument();
    expect(within(notesItem).getByText(/^Allowed/).querySelector("time")).toHaveAttribute("datetime", notes.created_at);
  });

  it("says so when no app has access", async () => {
    mockFetch({ ...account, "GET /api/me/grants": () => json({ grants: [] }) });
    renderApp("/account");

    expect(await within(await section()).findByText("No apps have access to your account.")).toBeInTheDocument();
  });

  it("revokes an app's access only after the confirming click", async () => {
    const { requests } = mockFetch({
      ...account,
      "GET /api/me/grants": () => json({ grants: [notes, calendar] }),
      "DELETE /api/me/grants/5": () => noContent(),
    });
    renderApp("/account");

    const apps = await section();
    await userEvent.click(await within(apps).findByRole("button", { name: "Revoke access for Notes" }));
    expect(requests.some((r) => r.method === "DELETE")).toBe(false);
    const confirm = within(apps).getByRole("group", { name: /^Revoke access for Notes\?/ });
    await userEvent.click(within(confirm).getByRole("button", { name: "Revoke" }));

    expect(await within(apps).findByText(/Notes no longer has access to your account/)).toBeInTheDocument();
    expect(within(apps).queryByRole("list", { name: "What Notes may do" })).not.toBeInTheDocument();
    expect(within(apps).getByRole("list", { name: "What Calendar may do" })).toBeInTheDocument();
    expect(requests.filter((r) => r.method === "DELETE").map((r) => r.path)).toEqual(["/api/me/grants/5"]);
  });

  it("refreshes the list when the app was already gone, and explains other failures", async () => {
    let grants = [notes, calendar];
    mockFetch({
      ...account,
      "GET /api/me/grants": () => json({ grants }),
      "DELETE /api/me/grants/5": () => {
        grants = [calendar];
        return apiError(404, "not_found");
      },
      "DELETE /api/me/grants/6": () => apiError(503, "unavailable"),
    });
    renderApp("/account");

    const apps = await section();
    await userEvent.click(await within(apps).findByRole("button", { name: "Revoke access for Notes" }));
    await userEvent.click(within(apps).getByRole("button", { name: "Revoke" }));
    await vi.waitFor(() => expect(within(apps).queryByRole("list", { name: "What Notes may do" })).not.toBeInTheDocument());
    expect(within(apps).queryByRole("alert")).toBeEmptyDOMElement();

    await userEvent.click(within(apps).getByRole("button", { name: "Revoke access for Calendar" }));
    await userEvent.click(within(apps).getByRole("button", { name: "Revoke" }));
    expect(await within(apps).findByText(/temporarily unavailable/)).toHaveAttribute("role", "alert");
    expect(within(apps).getByRole("list", { name: "What Calendar may do" })).toBeInTheDocument();
  });
});
