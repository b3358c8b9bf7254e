import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ada, apiError, json, mockFetch, noContent, root } from "../test/fetchMock";
import { currentPath, renderApp } from "../test/renderApp";

afterEach(() => vi.unstubAllGlobals());

const emptyFeed = () => json({ posts: [], next: null });

describe("AuthProvider", () => {
  it("asks check_session once and shows the user's home page on 200", async () => {
    const { requests } = mockFetch({ "GET /api/check_session": () => json(ada), "GET /api/posts": emptyFeed });
    renderApp("/");

    expect(await screen.findByRole("heading", { level: 1, name: "Welcome, ada!" })).toBeInTheDocument();
    expect(requests.filter((r) => r.path === "/api/check_session")).toHaveLength(1);
    expect(requests.find((r) => r.path === "/api/check_session")?.init.credentials).toBe("include");
  });

  it("treats 204 as anonymous and sends the visitor to log in", async () => {
    mockFetch({ "GET /api/check_session": () => noContent() });
    const { router } = renderApp("/");

    expect(await screen.findByRole("heading", { level: 1, name: "Log in" })).toBeInTheDocument();
    expect(currentPath(router)).toBe("/login");
    expect(screen.queryByText(/Welcome/)).not.toBeInTheDocument();
  });

  it("does not ask again when moving between pages", async () => {
    const { requests } = mockFetch({
      "GET /api/check_session": () => json(ada),
      "GET /api/posts": emptyFeed,
      "GET /api/me/sessions": () => json([]),
    });
    const { router } = renderApp("/");
    await screen.findByRole("heading", { name: "Welcome, ada!" });

    await router.navigate("/account");
    await screen.findByRole("heading", { level: 1, name: "Your account" });
    expect(requests.filter((r) => r.path === "/api/check_session")).toHaveLength(1);
  });

  it("shows a retry when the server cannot be reached, and recovers", async () => {
    let up = false;
    mockFetch({
      "GET /api/check_session": () => (up ? json(ada) : apiError(503, "unavailable")),
      "GET /api/posts": emptyFeed,
    });
    renderApp("/");

    expect(await screen.findByRole("alert")).toHaveTextContent(/temporarily unavailable/);
    up = true;
    await userEvent.click(screen.getByRole("button", { name: "Try again" }));
    expect(await screen.findByRole("heading", { name: "Welcome, ada!" })).toBeInTheDocument();
  });
});

describe("<RequireAuth>", () => {
  it("redirects an anonymous visitor to /login?next=<path>, and back there after logging in", async () => {
    const { requests } = mockFetch({
      "GET /api/check_session": () => noContent(),
      "POST /api/login": () => json(ada),
      "GET /api/me/sessions": () => json([]),
    });
    const { router } = renderApp("/account?tab=sessions");

    await screen.findByRole("heading", { level: 1, name: "Log in" });
    expect(currentPath(router)).toBe("/login?next=%2Faccount%3Ftab%3Dsessions");

    await userEvent.type(screen.getByLabelText("Username or email"), "ada");
    await userEvent.type(screen.getByLabelText("Password"), "correct horse");
    await userEvent.click(screen.getByRole("button", { name: "Log in" }));

    expect(await screen.findByRole("heading", { level: 1, name: "Your account" })).toBeInTheDocument();
    expect(currentPath(router)).toBe("/account?tab=sessions");
    expect(requests.find((r) => r.path === "/api/login")?.json).toEqual({ username: "ada", password: "correct horse" });
  });

  it("ignores a next that leads off the site", async () => {
    mockFetch({
      "GET /api/check_session": () => noContent(),
      "POST /api/login": () => json(ada),
      "GET /api/posts": emptyFeed,
    });
    const { router } = renderApp("/login?next=%2F%2Fevil.example%2Fsteal");

    await userEvent.type(await screen.findByLabelText("Username or email"), "ada");
    await userEvent.type(screen.getByLabelText("Password"), "correct horse");
    await userEvent.click(screen.getByRole("button", { name: "Log in" }));

    expect(await screen.findByRole("heading", { name: "Welcome, ada!" })).toBeInTheDocument();
    expect(currentPath(router)).toBe("/");
  });

  it("shows the server's wording for a wrong password and keeps the visitor on the form", async () => {
    mockFetch({
      "GET /api/check_session": () => noContent(),
      "POST /api/login": () => apiError(401, "invalid_credentials"),
    });
    const { router } = renderApp("/login");

    await userEvent.type(await screen.findByLabelText("Username or email"), "ada");
    await userEvent.type(screen.getByLabelText("Password"), "wrong password");
    await userEvent.click(screen.getByRole("button", { name: "Log in" }));

    expect(await screen.findByText("Wrong username or password.")).toHaveAttribute("role", "alert");
    expect(currentPath(router)).toBe("/login");
  });

  it("sends a user whose session died elsewhere to log in on the next 401", async () => {
    mockFetch({
      "GET /api/check_session": () => json(ada),
      "GET /api/posts": emptyFeed,
      "GET /api/me/sessions": () => apiError(401, "unauthorized"),
    });
    const { router } = renderApp("/");
    await screen.findByRole("heading", { name: "Welcome, ada!" });

    await router.navigate("/account");

    expect(await screen.findByRole("heading", { level: 1, name: "Log in" })).toBeInTheDocument();
    expect(currentPath(router)).toBe("/login?next=%2Faccount");
    expect(screen.getByText(/Your session has ended/)).toBeInTheDocument();
  });
});

describe("Log out", () => {
  it("ends the session on the server and lands on a plain /login, without a way back", async () => {
    const { requests } = mockFetch({
      "GET /api/check_session": () => json(ada),
      "GET /api/me/sessions": () => json([]),
      "DELETE /api/logout": () => noContent(),
    });
    const { router } = renderApp("/account");
    await screen.findByRole("heading", { level: 1, name: "Your account" });

    await userEvent.click(screen.getByRole("button", { name: "Log out" }));

    expect(await screen.findByRole("heading", { level: 1, name: "Log in" })).toBeInTheDocument();
    expect(currentPath(router)).toBe("/login");
    expect(requests.some((r) => r.method === "DELETE" && r.path === "/api/logout")).toBe(true);
    expect(screen.queryByRole("button", { name: "Log out" })).not.toBeInTheDocument();
  });
});

describe("<GuestOnly>", () => {
  it("moves a logged-in user away from the login page", async () => {
    mockFetch({ "GET /api/check_session": () => json(ada), "GET /api/posts": emptyFeed });
    const { router } = renderApp("/login");
    expect(await screen.findByRole("heading", { name: "Welcome, ada!" })).toBeInTheDocument();
    expect(currentPath(router)).toBe("/");
  });
});

describe("<GuestOnly> and an app's sign-in request", () => {
  it("lets only the login page decide for itself; other guest pages still move a logged-in user on", async () => {
    mockFetch({ "GET /api/check_session": () => json(ada), "GET /api/posts": emptyFeed });
    const { router } = renderApp("/signup?oauth=abc");
    expect(await screen.findByRole("heading", { name: "Welcome, ada!" })).toBeInTheDocument();
    expect(currentPath(router)).toBe("/");
  });
});

describe('<RequireRole role="admin">', () => {
  it("shows a non-admin the not-allowed page and never asks for the admin data", async () => {
    const { requests } = mockFetch({ "GET /api/check_session": () => json(ada) });
    renderApp("/admin/users");

    expect(await screen.findByRole("heading", { level: 1, name: "Not allowed" })).toBeInTheDocument();
    expect(requests.some((r) => r.path.startsWith("/api/users"))).toBe(false);
    expect(screen.queryByRole("link", { name: "Admin" })).not.toBeInTheDocument();
  });

  it("lets an admin in", async () => {
    mockFetch({
      "GET /api/check_session": () => json(root),
      "GET /api/users": () => json({ users: [root, ada], next: null }),
    });
    renderApp("/admin");

    expect(await screen.findByRole("heading", { level: 1, name: "Administration" })).toBeInTheDocument();
    expect(await screen.findByRole("cell", { name: "ada" })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Admin" })).toBeInTheDocument();
  });

  it("sends an anonymous visitor to log in first", async () => {
    mockFetch({ "GET /api/check_session": () => noContent() });
    const { router } = renderApp("/admin/audit");
    await screen.findByRole("heading", { level: 1, name: "Log in" });
    expect(currentPath(router)).toBe("/login?next=%2Fadmin%2Faudit");
  });
});
