import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { forgetFeatures } from "../components/useFeatures";
import { ada, apiError, json, mockFetch, noContent } from "../test/fetchMock";
import { renderApp } from "../test/renderApp";

afterEach(() => {
  vi.unstubAllGlobals();
  forgetFeatures();
});

const withMail = { signup: true, email: true, require_verified_email: false };
const TOKEN = "a".repeat(43);

describe("Forgot password", () => {
  it("is offered on the login page only when the server sends mail", async () => {
    mockFetch({ "GET /api/check_session": () => noContent(), "GET /api/features": () => json(withMail) });
    const { router } = renderApp("/login");
    await userEvent.click(await screen.findByRole("link", { name: "Forgot password?" }));
    expect(router.state.location.pathname).toBe("/forgot-password");
  });

  it("is hidden without mail", async () => {
    mockFetch({ "GET /api/check_session": () => noContent(), "GET /api/features": () => json({ ...withMail, email: false }) });
    renderApp("/login");
    expect(await screen.findByRole("button", { name: "Log in" })).toBeInTheDocument();
    await waitFor(() => expect(screen.queryByRole("link", { name: "Forgot password?" })).not.toBeInTheDocument());
  });

  it("sends the name and says the same thing whatever the account", async () => {
    const { requests } = mockFetch({
      "GET /api/check_session": () => noContent(),
      "GET /api/features": () => json(withMail),
      "POST /api/password/forgot": () => new Response(null, { status: 202 }),
    });
    renderApp("/forgot-password");
    await userEvent.click(await screen.findByRole("button", { name: "Send me a link" }));
    expect(screen.getByLabelText("Username or email")).toHaveAccessibleDescription("Enter your username or email address.");
    await userEvent.type(screen.getByLabelText("Username or email"), " ada@example.com ");
    await userEvent.click(screen.getByRole("button", { name: "Send me a link" }));
    expect(await screen.findByRole("status")).toHaveTextContent(/If an account with that name or address has an email address/);
    expect(requests.find((r) => r.path === "/api/password/forgot")?.json).toEqual({ username: "ada@example.com" });
  });
});

describe("Reset password", () => {
  it("takes the token from the link's fragment and sets the new password", async () => {
    const { requests } = mockFetch({ "GET /api/check_session": () => noContent(), "POST /api/password/reset": () => noContent() });
    renderApp(`/reset-password#token=${TOKEN}`);
    await userEvent.type(await screen.findByLabelText("New password"), "amber falcon");
    await userEvent.type(screen.getByLabelText("Confirm new password"), "amber falcon");
    await userEvent.click(screen.getByRole("button", { name: "Set new password" }));
    expect(await screen.findByRole("status")).toHaveTextContent(/Your password has been changed/);
    expect(screen.getByRole("link", { name: "Log in with your new password" })).toBeInTheDocument();
    expect(requests.find((r) => r.path === "/api/password/reset")?.json).toEqual({ token: TOKEN, new_password: "amber falcon" });
  });

  it("explains a used or expired link and offers a new one", async () => {
    mockFetch({ "GET /api/check_session": () => noContent(), "POST /api/password/reset": () => apiError(400, "invalid_link") });
    renderApp(`/reset-password#token=${TOKEN}`);
    await userEvent.type(await screen.findByLabelText("New password"), "amber falcon");
    await userEvent.type(screen.getByLabelText("Confirm new password"), "amber falcon");
    await userEvent.click(screen.getByRole("button", { name: "Set new password" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(/invalid, has expired or was already used/);
    expect(screen.getByRole("link", { name: "Ask for a new link" })).toBeInTheDocument();
  });

  it("checks the password rules before sending", async () => {
    const { requests } = mockFetch({ "GET /api/check_session": () => noContent() });
    renderApp(`/reset-password#token=${TOKEN}`);
    await userEvent.type(await screen.findByLabelText("New password"), "short");
    await userEvent.click(screen.getByRole("button", { name: "Set new password" }));
    expect(screen.getByLabelText("New password")).toHaveAttribute("aria-invalid", "true");
    expect(requests.filter((r) => r.method === "POST")).toHaveLength(0);
  });

  it("asks for the mailed link when opened without one", async () => {
    mockFetch({ "GET /api/check_session": () => noContent() });
    renderApp("/reset-password");
    expect(await screen.findByRole("alert")).toHaveTextContent(/needs the link from the mail/);
  });
});

describe("Verify email", () => {
  it("confirms the address once and updates the signed-in user", async () => {
    const { requests } = mockFetch({
      "GET /api/check_session": () => json({ ...ada, email: "ada@example.com" }),
      "GET /api/features": () => json(withMail),
      "POST /api/email/verify": () => json({ ...ada, email: "ada@example.com", email_verified: true }),
    });
    renderApp(`/verify-email#token=${TOKEN}`);
    expect(await screen.findByText("Thank you: ada@example.com is confirmed.")).toBeInTheDocument();
    expect(requests.filter((r) => r.path === "/api/email/verify")).toHaveLength(1);
    expect(requests.find((r) => r.path === "/api/email/verify")?.json).toEqual({ token: TOKEN });
    // The banner asking for confirmation is gone with the updated user.
    await waitFor(() => expect(screen.queryByRole("region", { name: "Email confirmation" })).not.toBeInTheDocument());
  });

  it("says when a link no longer works", async () => {
    mockFetch({ "GET /api/check_session": () => noContent(), "POST /api/email/verify": () => apiError(400, "invalid_link") });
    renderApp(`/verify-email#token=${TOKEN}`);
    expect(await screen.findByRole("alert")).toHaveTextContent(/invalid, has expired or was already used/);
  });
});

describe("Unverified address", () => {
  it("shows a banner that mails a new link", async () => {
    const { requests } = mockFetch({
      "GET /api/check_session": () => json({ ...ada, email: "ada@example.com" }),
      "GET /api/features": () => json(withMail),
      "GET /api/posts": () => json({ posts: [], next: null }),
      "POST /api/email/verify/resend": () => new Response(null, { status: 202 }),
    });
    renderApp("/");
    const banner = await screen.findByRole("region", { name: "Email confirmation" });
    expect(banner).toHaveTextContent("ada@example.com");
    await userEvent.click(screen.getByRole("button", { name: "Send a new link" }));
    expect(await screen.findByText("A new link is on its way to ada@example.com.")).toBeInTheDocument();
    expect(requests.filter((r) => r.path === "/api/email/verify/resend")).toHaveLength(1);
  });
});

describe("Change email", () => {
  it("needs the password and says where the link went", async () => {
    const { requests } = mockFetch({
      "GET /api/check_session": () => json({ ...ada, email: "ada@example.com", email_verified: true }),
      "GET /api/features": () => json(withMail),
      "GET /api/me/sessions": () => json([]),
      "PUT /api/me/email": (request) =>
        (request.json as { current_password: string }).current_password === "wrong password"
          ? apiError(401, "invalid_credentials")
          : new Response(null, { status: 202 }),
    });
    renderApp("/account");
    const email = await screen.findByLabelText("New email address");
    const form = email.closest("form") as HTMLFormElement;
    const password = form.querySelector<HTMLInputElement>('input[name="current_password"]') as HTMLInputElement;
    await userEvent.type(email, "ada@example.org");
    await userEvent.type(password, "wrong password");
    await userEvent.click(screen.getByRole("button", { name: "Change email address" }));
    expect(await screen.findByText("That is not your current password.")).toBeInTheDocument();
    await userEvent.clear(password);
    await userEvent.type(password, "correct horse");
    await userEvent.click(screen.getByRole("button", { name: "Change email address" }));
    expect(await screen.findByText(/We sent a link to ada@example.org/)).toBeInTheDocument();
    expect(requests.filter((r) => r.path === "/api/me/email").at(-1)?.json).toEqual({
      current_password: "correct horse",
      new_email: "ada@example.org",
    });
  });
});
