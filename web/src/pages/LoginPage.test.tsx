import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { forgetFeatures } from "../components/useFeatures";
import { ada, apiError, json, mockFetch, noContent, oauthRequest } from "../test/fetchMock";
import { currentPath, renderApp } from "../test/renderApp";
import { installAuthenticator, uninstallAuthenticator } from "../test/webauthnMock";

afterEach(() => {
  vi.unstubAllGlobals();
  uninstallAuthenticator();
  forgetFeatures();
});

const features = { signup: true, email: false, require_verified_email: false, passkeys: false, passkey_rp_id: null };
const challenge = { challenge: "c".repeat(43), methods: ["totp", "recovery_code"], expires_in: 300 };

async function logInWithPassword() {
  await userEvent.type(await screen.findByLabelText("Username or email"), "ada");
  await userEvent.type(screen.getByLabelText("Password"), "correct horse");
  await userEvent.click(screen.getByRole("button", { name: "Log in" }));
}

describe("Log in with a second factor", () => {
  it("asks for the code after the password and sends it with the challenge", async () => {
    const { requests } = mockFetch({
      "GET /api/check_session": () => noContent(),
      "POST /api/login": () => apiError(401, "second_factor_required", challenge),
      "POST /api/login/second-factor": () => json(ada),
      "GET /api/posts": () => json({ posts: [], next: null }),
    });
    renderApp("/login");

    await logInWithPassword();
    await userEvent.type(await screen.findByLabelText("Authentication code"), "123 456");
    await userEvent.click(screen.getByRole("button", { name: "Verify" }));

    expect(await screen.findByRole("heading", { level: 1, name: "Welcome, ada!" })).toBeInTheDocument();
    const second = requests.find((r) => r.path === "/api/login/second-factor");
    expect(second?.json).toEqual({ challenge: challenge.challenge, code: "123456" });
  });

  it("offers recovery codes, and after a wrong code lets the user try again", async () => {
    let attempts = 0;
    const { requests } = mockFetch({
      "GET /api/check_session": () => noContent(),
      "POST /api/login": () => apiError(401, "second_factor_required", challenge),
      "POST /api/login/second-factor": () => (++attempts === 1 ? apiError(401, "invalid_code") : json(ada)),
      "GET /api/posts": () => json({ posts: [], next: null }),
    });
    renderApp("/login");

    await logInWithPassword();
    await userEvent.click(await screen.findByRole("button", { name: "Use a recovery code instead" }));
    await userEvent.type(screen.getByLabelText("Recovery code"), "abcde-fghjk");
    await userEvent.click(screen.getByRole("button", { name: "Verify" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("That code is not valid.");
    await userEvent.click(screen.getByRole("button", { name: "Verify" }));

    expect(await screen.findByRole("heading", { level: 1, name: "Welcome, ada!" })).toBeInTheDocument();
    expect(requests.filter((r) => r.path === "/api/login/second-factor").map((r) => r.json)).toEqual([
      { challenge: challenge.challenge, recovery_code: "abcde-fghjk" },
      { challenge: challenge.challenge, recovery_code: "abcde-fghjk" },
    ]);
  });

  it("goes back to the password when the challenge has expired", async () => {
    mockFetch({
      "GET /api/check_session": () => noContent(),
      "POST /api/login": () => apiError(401, "second_factor_required", challenge),
      "POST /api/login/second-factor": () => apiError(401, "invalid_challenge"),
    });
    renderApp("/login");

    await logInWithPassword();
    await userEvent.type(await screen.findByLabelText("Authentication code"), "123456");
    await userEvent.click(screen.getByRole("button", { name: "Verify" }));

    expect(await screen.findByText("That login took too long or was already used. Enter your password again.")).toBeInTheDocument();
    expect(screen.getByLabelText("Password")).toHaveValue("");
  });
});

describe("Log in for an app (?oauth=)", () => {
  const id = oauthRequest.id;
  const requestPath = `/api/oauth2/requests/${id}`;
  const loginPath = `/login?oauth=${id}`;
  const consentPath = `/consent?oauth=${id}`;

  /** The request as the server sees it: a fresh login satisfies it. */
  function appAsks(answer: Partial<typeof oauthRequest> = {}) {
    let loggedIn = false;
    return {
      loggedIn: () => {
        loggedIn = true;
      },
      handler: () => json({ ...oauthRequest, ...answer, ...(loggedIn ? { login_required: false } : {}) }),
    };
  }

  it("names the app above the form and goes on to the consent page after the password", async () => {
    const app = appAsks();
    mockFetch({
      "GET /api/check_session": () => noContent(),
      [`GET ${requestPath}`]: app.handler,
      "POST /api/login": () => {
        app.loggedIn();
        return json(ada);
      },
    });
    const { router } = renderApp(loginPath);

    expect(await screen.findByText("Log in to continue to Notes")).toBeInTheDocument();
    await logInWithPassword();

    expect(await screen.findByRole("heading", { level: 2, name: "Notes wants to:" })).toBeInTheDocument();
    expect(currentPath(router)).toBe(consentPath);
  });

  it("goes on to the consent page after the second step too", async () => {
    const app = appAsks();
    mockFetch({
      "GET /api/check_session": () => noContent(),
      [`GET ${requestPath}`]: app.handler,
      "POST /api/login": () => apiError(401, "second_factor_required", challenge),
      "POST /api/login/second-factor": () => {
        app.loggedIn();
        return json(ada);
      },
    });
    const { router } = renderApp(loginPath);

    await logInWithPassword();
    await userEvent.type(await screen.findByLabelText("Authentication code"), "123456");
    await userEvent.click(screen.getByRole("button", { name: "Verify" }));

    expect(await screen.findByRole("heading", { level: 2, name: "Notes wants to:" })).toBeInTheDocument();
    expect(currentPath(router)).toBe(consentPath);
  });

  it("goes straight to the consent page when the user's session is enough", async () => {
    mockFetch({
      "GET /api/check_session": () => json(ada),
      [`GET ${requestPath}`]: () => json({ ...oauthRequest, login_required: false }),
    });
    const { router } = renderApp(loginPath);

    expect(await screen.findByRole("heading", { level: 2, name: "Notes wants to:" })).toBeInTheDocument();
    expect(currentPath(router)).toBe(consentPath);
  });

  it("asks a logged-in user to log in again when the app demands it, instead of moving them on", async () => {
    const app = appAsks();
    const { requests } = mockFetch({
      "GET /api/check_session": () => json(ada),
      [`GET ${requestPath}`]: app.handler,
      "POST /api/login": () => {
        app.loggedIn();
        return json(ada);
      },
    });
    const { router } = renderApp(loginPath);

    expect(await screen.findByText("Notes asks you to log in again, although you are logged in as ada.")).toBeInTheDocument();
    expect(screen.getByText("Log in to continue to Notes")).toBeInTheDocument();
    expect(currentPath(router)).toBe(loginPath);

    await logInWithPassword();

    expect(await screen.findByRole("heading", { level: 2, name: "Notes wants to:" })).toBeInTheDocument();
    expect(currentPath(router)).toBe(consentPath);
    expect(requests.filter((r) => r.path === "/api/login")).toHaveLength(1);
  });

  it("fills in the username the app suggested", async () => {
    mockFetch({
      "GET /api/check_session": () => noContent(),
      [`GET ${requestPath}`]: () => json({ ...oauthRequest, login_hint: "ada@example.com" }),
    });
    renderApp(loginPath);

    expect(await screen.findByLabelText("Username or email")).toHaveValue("ada@example.com");
  });

  it("goes on to the consent page after a passkey", async () => {
    const app = appAsks();
    installAuthenticator();
    mockFetch({
      "GET /api/check_session": () => noContent(),
      "GET /api/features": () => json({ ...features, passkeys: true, passkey_rp_id: "localhost" }),
      [`GET ${requestPath}`]: app.handler,
      "POST /api/login/passkey/options": () =>
        json({ ceremony: "login-ceremony", options: { publicKey: { challenge: "AQID", rpId: "localhost", allowCredentials: [] } } }),
      "POST /api/login/passkey": () => {
        app.loggedIn();
        return json(ada);
      },
    });
    const { router } = renderApp(loginPath);

    await userEvent.click(await screen.findByRole("button", { name: "Sign in with a passkey" }));

    expect(await screen.findByRole("heading", { level: 2, name: "Notes wants to:" })).toBeInTheDocument();
    expect(currentPath(router)).toBe(consentPath);
  });

  it("comes back to the consent page from a provider, and from a new account", async () => {
    mockFetch({
      "GET /api/check_session": () => noContent(),
      "GET /api/features": () => json({ ...features, providers: [{ id: "github", label: "GitHub" }] }),
      [`GET ${requestPath}`]: () => json(oauthRequest),
    });
    renderApp(loginPath);

    expect(await screen.findByRole("link", { name: "Continue with GitHub" })).toHaveAttribute(
      "href",
      `/api/federation/github/start?return_to=${encodeURIComponent(consentPath)}`,
    );
    expect(screen.getByRole("link", { name: "Create an account" })).toHaveAttribute(
      "href",
      `/signup?next=${encodeURIComponent(consentPath)}`,
    );
  });

  it("finishes the provider's round trip on the consent page", async () => {
    const app = appAsks();
    mockFetch({
      "GET /api/check_session": () => noContent(),
      [`GET ${requestPath}`]: app.handler,
      "POST /api/federation/continue": () => {
        app.loggedIn();
        return json(ada);
      },
    });
    const { router } = renderApp(`/login/federated?return_to=${encodeURIComponent(consentPath)}`);

    expect(await screen.findByRole("heading", { level: 2, name: "Notes wants to:" })).toBeInTheDocument();
    expect(currentPath(router)).toBe(consentPath);
  });

  it("says an expired request is over instead of showing the form", async () => {
    mockFetch({ "GET /api/check_session": () => noContent(), [`GET ${requestPath}`]: () => apiError(404, "not_found") });
    renderApp(loginPath);

    expect(await screen.findByRole("alert")).toHaveTextContent("This sign-in request has expired. Go back to the app and try again.");
    expect(screen.queryByRole("button", { name: "Log in" })).not.toBeInTheDocument();
  });
});
