import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { StrictMode } from "react";
import { createMemoryRouter, RouterProvider } from "react-router";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AuthProvider } from "../auth/AuthContext";
import { routes } from "../router";
import { ada, apiError, json, mockFetch, noContent, oauthRequest } from "../test/fetchMock";
import { currentPath, renderApp } from "../test/renderApp";

// jsdom cannot leave the page: the way back to the app ends here.
const { leaveTo } = vi.hoisted(() => ({ leaveTo: vi.fn<(url: string) => void>() }));
vi.mock("../lib/leave", () => ({ leaveTo }));

afterEach(() => {
  leaveTo.mockReset();
  vi.unstubAllGlobals();
});

const id = oauthRequest.id;
const requestPath = `/api/oauth2/requests/${id}`;
const consentPath = `/consent?oauth=${id}`;
const loginPath = `/login?oauth=${id}`;
const askConsent = { ...oauthRequest, login_required: false };
const code = "https://notes.example/callback?code=abc&state=xyz&iss=http%3A%2F%2Flocalhost";
const denied = "https://notes.example/callback?error=access_denied&state=xyz&iss=http%3A%2F%2Flocalhost";

const loggedIn = {
  "GET /api/check_session": () => json(ada),
  [`GET ${requestPath}`]: () => json(askConsent),
};

describe("The consent page", () => {
  it("says what the app wants in words and who is logged in, and Allow goes back to the app with a code", async () => {
    const { requests } = mockFetch({ ...loggedIn, [`POST ${requestPath}/accept`]: () => json({ redirect_to: code }) });
    renderApp(consentPath);

    const section = await screen.findByRole("region", { name: "Notes wants to:" });
    expect(within(section).getAllByRole("listitem").map((item) => item.textContent)).toEqual([
      "Know who you are (your account id)",
      "See your email address",
      "See your username",
    ]);
    expect(section).toHaveTextContent("You are logged in as ada. Not you? Log out");
    expect(screen.getByRole("heading", { level: 1, name: "Continue to Notes" })).toBeInTheDocument();
    await waitFor(() => expect(document.title).toBe("Continue to Notes · latchkey"));

    await userEvent.click(screen.getByRole("button", { name: "Allow" }));

    await waitFor(() => expect(leaveTo).toHaveBeenCalledWith(code));
    expect(requests.filter((r) => r.method === "POST").map((r) => r.path)).toEqual([`${requestPath}/accept`]);
    // On its way to the app the page offers nothing more to click.
    expect(screen.getByRole("button", { name: "Allowing…" })).toBeDisabled();
    expect(screen.getByRole("button", { name: "Deny" })).toBeDisabled();
  });

  it("words every scope an app may ask for, and shows one it does not know by name", async () => {
    mockFetch({
      ...loggedIn,
      [`GET ${requestPath}`]: () => json({ ...askConsent, scopes: ["openid", "roles", "offline_access", "calendar"] }),
    });
    renderApp(consentPath);

    const section = await screen.findByRole("region", { name: "Notes wants to:" });
    expect(within(section).getAllByRole("listitem").map((item) => item.textContent)).toEqual([
      "Know who you are (your account id)",
      "See your roles",
      "Stay connected while you are away",
      "Use “calendar”",
    ]);
  });

  it("Deny goes back to the app with access_denied", async () => {
    const { requests } = mockFetch({ ...loggedIn, [`POST ${requestPath}/deny`]: () => json({ redirect_to: denied }) });
    renderApp(consentPath);

    await userEvent.click(await screen.findByRole("button", { name: "Deny" }));

    await waitFor(() => expect(leaveTo).toHaveBeenCalledWith(denied));
    expect(requests.filter((r) => r.method === "POST").map((r) => r.path)).toEqual([`${requestPath}/deny`]);
  });

  it("allows at once, and once, when the user need not be asked", async () => {
    const { requests } = mockFetch({
      ...loggedIn,
      [`GET ${requestPath}`]: () => json({ ...askConsent, consent_required: false }),
      [`POST ${requestPath}/accept`]: () => json({ redirect_to: code }),
    });
    // StrictMode runs the effects twice, as in development; the request is used up by one accept.
    const router = createMemoryRouter(routes, { initialEntries: [consentPath] });
    render(
      <StrictMode>
        <AuthProvider>
          <RouterProvider router={router} />
        </AuthProvider>
      </StrictMode>,
    );

    expect(await screen.findByText("Taking you back to Notes…")).toBeInTheDocument();
    await waitFor(() => expect(leaveTo).toHaveBeenCalledWith(code));
    expect(requests.filter((r) => r.method === "POST")).toHaveLength(1);
    expect(screen.queryByRole("button", { name: "Allow" })).not.toBeInTheDocument();
  });

  it("offers to try again when allowing at once fails", async () => {
    let up = false;
    mockFetch({
      ...loggedIn,
      [`GET ${requestPath}`]: () => json({ ...askConsent, consent_required: false }),
      [`POST ${requestPath}/accept`]: () => (up ? json({ redirect_to: code }) : apiError(500, "internal")),
    });
    renderApp(consentPath);

    expect(await screen.findByRole("alert")).toHaveTextContent("Something went wrong on the server.");
    up = true;
    await userEvent.click(screen.getByRole("button", { name: "Try again" }));
    await waitFor(() => expect(leaveTo).toHaveBeenCalledWith(code));
  });

  it.each([
    ["the request asks for a fresh login", () => json(ada), { ...askConsent, login_required: true }],
    ["nobody is logged in", noContent, oauthRequest],
  ])("sends the visitor to log in for the app when %s", async (_, session, answer) => {
    mockFetch({ "GET /api/check_session": session, [`GET ${requestPath}`]: () => json(answer) });
    const { router } = renderApp(consentPath);

    expect(await screen.findByText("Log in to continue to Notes")).toBeInTheDocument();
    expect(currentPath(router)).toBe(loginPath);
    expect(leaveTo).not.toHaveBeenCalled();
  });

  it("sends the user to log in again when accepting says the login is too old", async () => {
    let loginRequired = false;
    mockFetch({
      ...loggedIn,
      [`GET ${requestPath}`]: () => json({ ...askConsent, login_required: loginRequired }),
      [`POST ${requestPath}/accept`]: () => {
        loginRequired = true;
        return apiError(401, "login_required");
      },
    });
    const { router } = renderApp(consentPath);

    await userEvent.click(await screen.findByRole("button", { name: "Allow" }));

    expect(await screen.findByRole("button", { name: "Log in" })).toBeInTheDocument();
    expect(currentPath(router)).toBe(loginPath);
    expect(leaveTo).not.toHaveBeenCalled();
  });

  it("sends the visitor to log in when the session ended before they allowed", async () => {
    mockFetch({
      ...loggedIn,
      [`POST ${requestPath}/accept`]: () => apiError(401, "unauthorized"),
    });
    const { router } = renderApp(consentPath);

    await userEvent.click(await screen.findByRole("button", { name: "Allow" }));

    await waitFor(() => expect(currentPath(router)).toBe(loginPath));
  });

  it("says a request that has expired or was answered elsewhere is over", async () => {
    mockFetch({ "GET /api/check_session": () => json(ada), [`GET ${requestPath}`]: () => apiError(404, "not_found") });
    renderApp(consentPath);

    expect(await screen.findByRole("alert")).toHaveTextContent("This sign-in request has expired. Go back to the app and try again.");
    expect(screen.queryByRole("button", { name: "Allow" })).not.toBeInTheDocument();
  });

  it("says so too when the request runs out while the user decides", async () => {
    mockFetch({ ...loggedIn, [`POST ${requestPath}/accept`]: () => apiError(404, "not_found") });
    renderApp(consentPath);

    await userEvent.click(await screen.findByRole("button", { name: "Allow" }));

    expect(await screen.findByRole("alert")).toHaveTextContent("This sign-in request has expired.");
    expect(leaveTo).not.toHaveBeenCalled();
  });

  it("says the same of a link without a request id", async () => {
    mockFetch({ "GET /api/check_session": () => json(ada) });
    renderApp("/consent");
    expect(await screen.findByRole("alert")).toHaveTextContent("This sign-in request has expired.");
  });

  it("explains a failure in words and lets the user try again", async () => {
    let up = false;
    mockFetch({
      ...loggedIn,
      [`POST ${requestPath}/accept`]: () => (up ? json({ redirect_to: code }) : apiError(503, "unavailable")),
    });
    renderApp(consentPath);

    await userEvent.click(await screen.findByRole("button", { name: "Allow" }));
    const section = screen.getByRole("region", { name: "Notes wants to:" });
    expect(await within(section).findByRole("alert")).toHaveTextContent("temporarily unavailable");
    expect(within(section).getByRole("alert")).not.toHaveTextContent("server says");

    up = true;
    await userEvent.click(screen.getByRole("button", { name: "Allow" }));
    await waitFor(() => expect(leaveTo).toHaveBeenCalledWith(code));
  });

  it("offers a retry when the request cannot be loaded", async () => {
    let up = false;
    mockFetch({
      "GET /api/check_session": () => json(ada),
      [`GET ${requestPath}`]: () => (up ? json(askConsent) : apiError(503, "unavailable")),
    });
    renderApp(consentPath);

    expect(await screen.findByRole("alert")).toHaveTextContent("temporarily unavailable");
    up = true;
    await userEvent.click(screen.getByRole("button", { name: "Try again" }));
    expect(await screen.findByRole("region", { name: "Notes wants to:" })).toBeInTheDocument();
  });

  it("Log out lets somebody else log in and go on with the same request", async () => {
    let loggedOut = false;
    mockFetch({
      "GET /api/check_session": () => json(ada),
      [`GET ${requestPath}`]: () => json({ ...askConsent, login_required: loggedOut }),
      "DELETE /api/logout": () => {
        loggedOut = true;
        return noContent();
      },
    });
    const { router } = renderApp(consentPath);

    const section = await screen.findByRole("region", { name: "Notes wants to:" });
    await userEvent.click(within(section).getByRole("button", { name: "Log out" }));

    expect(await screen.findByText("Log in to continue to Notes")).toBeInTheDocument();
    expect(currentPath(router)).toBe(loginPath);
  });
});
