import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { StrictMode } from "react";
import { createMemoryRouter, RouterProvider } from "react-router";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AuthProvider } from "../auth/AuthContext";
import { forgetFeatures } from "../components/useFeatures";
import { routes } from "../router";
import { ada, apiError, json, mockFetch, noContent } from "../test/fetchMock";
import { currentPath, renderApp } from "../test/renderApp";

afterEach(() => {
  vi.unstubAllGlobals();
  forgetFeatures();
  sessionStorage.clear();
});

const features = {
  signup: true,
  email: false,
  require_verified_email: false,
  passkeys: false,
  passkey_rp_id: null,
  providers: [
    { id: "test", label: "Test provider" },
    { id: "github", label: "GitHub" },
  ],
};
const identity = {
  id: 3,
  provider: "github",
  label: "GitHub",
  email: "ada@example.com",
  email_verified: true,
  created_at: "2026-11-22T12:00:00Z",
  last_used_at: null,
};
const signedOut = {
  "GET /api/check_session": () => noContent(),
  "GET /api/features": () => json(features),
  "GET /api/posts": () => json({ posts: [], next: null }),
};
const account = {
  "GET /api/check_session": () => json(ada),
  "GET /api/features": () => json(features),
  "GET /api/me/sessions": () => json([]),
  "GET /api/me/second-factors": () => json({ totp_enabled: false, totp_pending: false, recovery_codes_left: 0, methods: [] }),
  "GET /api/me/identities": () => json({ identities: [identity], has_password: true }),
};

/** The app as main.tsx renders it: in StrictMode, whose development double effects the page must survive. */
function renderStrict(path: string) {
  const router = createMemoryRouter(routes, { initialEntries: [path] });
  render(
    <StrictMode>
      <AuthProvider>
        <RouterProvider router={router} />
      </AuthProvider>
    </StrictMode>,
  );
  return router;
}

describe("Continue with a provider", () => {
  it("offers every provider on the login page as a link that keeps where the user was going", async () => {
    mockFetch(signedOut);
    renderApp("/login?next=%2Fadmin%2Fusers");

    const test = await screen.findByRole("link", { name: "Continue with Test provider" });
    expect(test).toHaveAttribute("href", "/api/federation/test/start?return_to=%2Fadmin%2Fusers");
    expect(screen.getByRole("link", { name: "Continue with GitHub" })).toHaveAttribute(
      "href",
      "/api/federation/github/start?return_to=%2Fadmin%2Fusers",
    );
  });

  it("offers them on the signup page too, going home afterwards when there is no safe next", async () => {
    mockFetch(signedOut);
    renderApp("/signup?next=%2F%2Fevil.example");

    expect(await screen.findByRole("link", { name: "Continue with GitHub" })).toHaveAttribute(
      "href",
      "/api/federation/github/start?return_to=%2F",
    );
  });

  it.each([
    ["an empty list", { ...features, providers: [] }],
    ["an older server without the list", { ...features, providers: undefined }],
  ])("shows no buttons for %s", async (_, answer) => {
    mockFetch({ ...signedOut, "GET /api/features": () => json(answer) });
    renderApp("/login");
    expect(await screen.findByRole("button", { name: "Log in" })).toBeInTheDocument();
    await waitFor(() => expect(screen.queryByRole("group", { name: "Log in with another account" })).not.toBeInTheDocument());
    expect(screen.queryByRole("link", { name: /Continue with/ })).not.toBeInTheDocument();
  });
});

describe("Back from the provider (/login/federated)", () => {
  it("finishes the login once and goes to return_to, asking after the page's session check", async () => {
    const { requests } = mockFetch({
      ...account,
      "GET /api/check_session": () => noContent(),
      "POST /api/federation/continue": () => json(ada),
    });
    const router = renderStrict("/login/federated?return_to=%2Faccount");

    expect(await screen.findByRole("heading", { level: 1, name: "Your account" })).toBeInTheDocument();
    expect(currentPath(router)).toBe("/account");
    const continues = requests.filter((r) => r.path === "/api/federation/continue");
    expect(continues).toHaveLength(1);
    expect(continues[0]?.json).toEqual({ mode: "session" });
    // The check's "nobody" must not land after, and undo, the login.
    expect(requests.findIndex((r) => r.path === "/api/check_session")).toBeLessThan(
      requests.findIndex((r) => r.path === "/api/federation/continue"),
    );
  });

  it("spends the single-use flow once when StrictMode runs the page's effects twice", async () => {
    const { requests } = mockFetch({ ...signedOut, "POST /api/federation/continue": () => json(ada) });
    // Arriving inside a running app, the session check is known at mount, so
    // StrictMode's mount, unmount and mount again all see a page ready to ask.
    const router = renderStrict("/login");
    expect(await screen.findByRole("button", { name: "Log in" })).toBeInTheDocument();
    await router.navigate("/login/federated?return_to=%2F");

    expect(await screen.findByRole("heading", { level: 1, name: "Welcome, ada!" })).toBeInTheDocument();
    expect(requests.filter((r) => r.path === "/api/federation/continue")).toHaveLength(1);
  });

  it.each(["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", ""])(
    "goes home instead of return_to=%j",
    async (returnTo) => {
      mockFetch({ ...signedOut, "POST /api/federation/continue": () => json(ada) });
      const { router } = renderApp(`/login/federated?return_to=${encodeURIComponent(returnTo)}`);
      expect(await screen.findByRole("heading", { level: 1, name: "Welcome, ada!" })).toBeInTheDocument();
      expect(currentPath(router)).toBe("/");
    },
  );

  it("after connecting an account, goes back to the account page and says so", async () => {
    mockFetch({ ...account, "POST /api/federation/continue": () => json({ linked: identity, return_to: "/account" }) });
    const { router } = renderApp("/login/federated?return_to=%2Faccount");

    expect(await screen.findByText("Connected GitHub.")).toBeInTheDocument();
    expect(currentPath(router)).toBe("/account");
  });

  it("asks for the second factor like the login page, then goes to return_to", async () => {
    const challenge = { challenge: "c".repeat(43), methods: ["totp", "recovery_code"], expires_in: 300 };
    const { requests } = mockFetch({
      ...signedOut,
      "POST /api/federation/continue": () => apiError(401, "second_factor_required", challenge),
      "POST /api/login/second-factor": () => json(ada),
    });
    const { router } = renderApp("/login/federated?return_to=%2F");

    await userEvent.type(await screen.findByLabelText("Authentication code"), "123 456");
    await userEvent.click(screen.getByRole("button", { name: "Verify" }));

    expect(await screen.findByRole("heading", { level: 1, name: "Welcome, ada!" })).toBeInTheDocument();
    expect(currentPath(router)).toBe("/");
    expect(requests.find((r) => r.path === "/api/login/second-factor")?.json).toEqual({
      challenge: challenge.challenge,
      code: "123456",
    });
  });

  it.each([
    [403, "email_not_verified", /Confirm your email address first/],
    [403, "signup_disabled", /does not create new accounts/],
    [409, "account_exists", /An account with this email address already exists\. Log in with your password, then connect/],
    [409, "identity_in_use", /already connected to another account/],
    [401, "federation_expired", /Please start again/],
    [401, "federation_failed", /could not be verified/],
    [503, "provider_unavailable", /could not be reached/],
  ])("explains %i %s in words, with a way back to log in", async (status, code, words) => {
    mockFetch({ ...signedOut, "POST /api/federation/continue": () => apiError(status, code) });
    renderApp("/login/federated?return_to=%2Fadmin");

    expect(await screen.findByRole("alert")).toHaveTextContent(words);
    expect(screen.getByRole("alert")).not.toHaveTextContent("server says");
    expect(screen.getByRole("link", { name: "Back to log in" })).toHaveAttribute("href", "/login?next=%2Fadmin");
  });

  it("sends a signed-in user back to their account when a link fails", async () => {
    mockFetch({ ...account, "POST /api/federation/continue": () => apiError(409, "identity_in_use") });
    renderApp("/login/federated?return_to=%2Faccount");

    expect(await screen.findByRole("alert")).toHaveTextContent(/already connected to another account/);
    expect(screen.getByRole("link", { name: "Back to your account" })).toHaveAttribute("href", "/account");
  });

  it("shows why a round trip could not begin, without continuing anything", async () => {
    const { requests } = mockFetch({ ...signedOut });
    renderApp("/login/federated?error=provider_unavailable&return_to=%2F");
    expect(await screen.findByText(/provider could not be reached/)).toBeInTheDocument();
    expect(requests.filter((r) => r.path === "/api/federation/continue")).toHaveLength(0);
  });
});
