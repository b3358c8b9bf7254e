import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Session } from "../api/account";
import { apiError, json, mockFetch, noContent } from "../test/fetchMock";
import { SessionList } from "./SessionList";

afterEach(() => vi.unstubAllGlobals());

const CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36";
const FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:141.0) Gecko/20100101 Firefox/141.0";

function session(fields: Partial<Session> & Pick<Session, "id" | "kind">): Session {
  return {
    created_at: "2026-11-20T08:00:00Z",
    last_seen_at: "2026-11-22T11:00:00Z",
    expires_at: "2026-12-20T08:00:00Z",
    ip: "203.0.113.9",
    user_agent: CHROME,
    current: false,
    ...fields,
  };
}

const here = session({ id: 5, kind: "cookie", current: true, last_seen_at: "2026-11-22T12:00:00Z" });
const otherBrowser = session({ id: 9, kind: "cookie", user_agent: FIREFOX, ip: "198.51.100.4" });
// Same id as this browser's session: ids are unique only within a kind.
const cli = session({ id: 5, kind: "token", user_agent: "latchkey-cli/1.2.0", ip: "192.0.2.77", last_seen_at: "2026-11-22T11:30:00Z" });

function rows() {
  return within(screen.getByRole("list")).getAllByRole("listitem");
}

describe("Where you are signed in", () => {
  it("lists browser sessions and token logins, each saying what it is, with this device first and not endable", async () => {
    mockFetch({ "GET /api/me/sessions": () => json([otherBrowser, cli, here]) });
    render(<SessionList reloadKey={0} />);

    await screen.findByRole("list");
    expect(rows()).toHaveLength(3);
    const [first, second, third] = rows() as [HTMLElement, HTMLElement, HTMLElement];
    expect(first).toHaveTextContent("Chrome on Linux");
    expect(first).toHaveTextContent("This device");
    expect(first).toHaveTextContent("Browser session · 203.0.113.9");
    expect(within(first).queryByRole("button")).toBeNull();

    expect(second).toHaveTextContent("latchkey-cli");
    expect(second).toHaveTextContent("App or API login (tokens) · 192.0.2.77");
    expect(second).not.toHaveTextContent("This device");
    expect(within(second).getByRole("button", { name: "Sign out app latchkey-cli from 192.0.2.77" })).toBeInTheDocument();

    expect(third).toHaveTextContent("Firefox on Windows");
    expect(third).toHaveTextContent("Browser session · 198.51.100.4");
    expect(within(third).getByRole("button", { name: "Sign out Firefox on Windows from 198.51.100.4" })).toBeInTheDocument();

    expect(screen.getByText(/the access token it already holds works until it expires/)).toBeInTheDocument();
  });

  it("ends a token login at its own route, not the browser session with the same id", async () => {
    let list = [here, cli];
    const { requests } = mockFetch({
      "GET /api/me/sessions": () => json(list),
      "DELETE /api/me/token-logins/5": () => {
        list = [here];
        return noContent();
      },
    });
    render(<SessionList reloadKey={0} />);

    await userEvent.click(await screen.findByRole("button", { name: "Sign out app latchkey-cli from 192.0.2.77" }));
    expect(screen.getByText("Sign out this app?")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Sign out" }));

    expect(await screen.findByText("Signed out latchkey-cli.")).toBeInTheDocument();
    await waitFor(() => expect(rows()).toHaveLength(1));
    expect(requests.filter((r) => r.method === "DELETE").map((r) => r.path)).toEqual(["/api/me/token-logins/5"]);
    expect(screen.getByText("This is your only session.")).toBeInTheDocument();
    expect(screen.queryByText(/access token it already holds/)).toBeNull();
  });

  it("ends another browser session at the sessions route", async () => {
    let list = [here, otherBrowser, cli];
    const { requests } = mockFetch({
      "GET /api/me/sessions": () => json(list),
      "DELETE /api/me/sessions/9": () => {
        list = [here, cli];
        return noContent();
      },
    });
    render(<SessionList reloadKey={0} />);

    await userEvent.click(await screen.findByRole("button", { name: "Sign out Firefox on Windows from 198.51.100.4" }));
    expect(screen.getByText("Sign out this session?")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Sign out" }));

    expect(await screen.findByText("Signed out Firefox on Windows.")).toBeInTheDocument();
    await waitFor(() => expect(rows()).toHaveLength(2));
    expect(requests.filter((r) => r.method === "DELETE").map((r) => r.path)).toEqual(["/api/me/sessions/9"]);
  });

  it("just refreshes the list when the token login had already ended", async () => {
    let list = [here, cli];
    mockFetch({
      "GET /api/me/sessions": () => json(list),
      "DELETE /api/me/token-logins/5": () => {
        list = [here];
        return apiError(404, "not_found");
      },
    });
    render(<SessionList reloadKey={0} />);

    await userEvent.click(await screen.findByRole("button", { name: "Sign out app latchkey-cli from 192.0.2.77" }));
    await userEvent.click(screen.getByRole("button", { name: "Sign out" }));

    await waitFor(() => expect(rows()).toHaveLength(1));
    for (const alert of screen.getAllByRole("alert")) expect(alert).toBeEmptyDOMElement();
  });

  it("signs out the other browsers and the apps together, saying how many of each", async () => {
    const secondCli = session({ id: 6, kind: "token", user_agent: "okhttp/4.12.0", ip: "192.0.2.78" });
    let list = [here, otherBrowser, cli, secondCli];
    const { requests } = mockFetch({
      "GET /api/me/sessions": () => json(list),
      "DELETE /api/me/sessions": () => {
        list = [here];
        return noContent();
      },
    });
    render(<SessionList reloadKey={0} />);

    await userEvent.click(await screen.findByRole("button", { name: "Sign out all other sessions and apps" }));
    expect(screen.getByText("Sign out 1 other browser session and 2 apps?")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Sign out" }));

    expect(await screen.findByText("Every other session and app has been signed out.")).toBeInTheDocument();
    await waitFor(() => expect(rows()).toHaveLength(1));
    expect(requests.filter((r) => r.method === "DELETE").map((r) => r.path)).toEqual(["/api/me/sessions"]);
  });

  it("offers to sign out the apps when they are the only other sign-ins", async () => {
    mockFetch({ "GET /api/me/sessions": () => json([here, cli]) });
    render(<SessionList reloadKey={0} />);

    await userEvent.click(await screen.findByRole("button", { name: "Sign out all other sessions and apps" }));
    expect(screen.getByText("Sign out 1 app?")).toBeInTheDocument();
  });
});
