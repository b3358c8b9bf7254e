import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ada, apiError, json, mockFetch, noContent } from "../test/fetchMock";
import { renderApp } from "../test/renderApp";

afterEach(() => vi.unstubAllGlobals());

async function fillSignup(fields: { username: string; password: string; confirmation: string; email?: string }) {
  await userEvent.type(await screen.findByLabelText("Username"), fields.username);
  if (fields.email) await userEvent.type(screen.getByLabelText("Email (optional)"), fields.email);
  await userEvent.type(screen.getByLabelText("Password"), fields.password);
  await userEvent.type(screen.getByLabelText("Confirm password"), fields.confirmation);
  await userEvent.click(screen.getByRole("button", { name: "Create account" }));
}

describe("Sign up", () => {
  it("checks the rules before sending anything and focuses the first field to fix", async () => {
    const { requests } = mockFetch({ "GET /api/check_session": () => noContent() });
    renderApp("/signup");

    await fillSignup({ username: "a!", password: "short", confirmation: "other" });

    const username = screen.getByLabelText("Username");
    expect(username).toHaveAttribute("aria-invalid", "true");
    expect(username).toHaveAccessibleDescription(/letters, digits/);
    expect(username).toHaveFocus();
    expect(screen.getByLabelText("Password")).toHaveAccessibleDescription(/Use at least 8 characters\./);
    expect(screen.getByLabelText("Confirm password")).toHaveAccessibleDescription("The two passwords do not match.");
    expect(requests.filter((r) => r.method === "POST")).toHaveLength(0);
  });

  it("shows the server's field errors next to their field", async () => {
    mockFetch({
      "GET /api/check_session": () => noContent(),
      "POST /api/signup": () =>
        apiError(422, "validation_failed", { fields: { password: "is one of the most common passwords" } }),
    });
    renderApp("/signup");

    await fillSignup({ username: "ada", password: "password1", confirmation: "password1" });

    const password = await screen.findByLabelText("Password");
    expect(password).toHaveAttribute("aria-invalid", "true");
    expect(password).toHaveAccessibleDescription(/Password is one of the most common passwords\./);
    expect(screen.getByLabelText("Username")).not.toHaveAttribute("aria-invalid");
    expect(screen.getByRole("alert")).toHaveTextContent("Please correct the fields marked below.");
  });

  it("puts an error about a field the form does not show into the alert instead of losing it", async () => {
    mockFetch({
      "GET /api/check_session": () => noContent(),
      "POST /api/signup": () => apiError(422, "validation_failed", { fields: { invite_code: "is required" } }),
    });
    renderApp("/signup");

    await fillSignup({ username: "ada", password: "correct horse", confirmation: "correct horse" });

    expect(await screen.findByRole("alert")).toHaveTextContent("Invite code is required.");
  });

  it("shows a taken username on the username field", async () => {
    mockFetch({ "GET /api/check_session": () => noContent(), "POST /api/signup": () => apiError(409, "username_taken") });
    renderApp("/signup");

    await fillSignup({ username: "ada", password: "correct horse", confirmation: "correct horse" });

    expect(await screen.findByLabelText("Username")).toHaveAccessibleDescription(/That username is already taken\./);
  });

  it("creates the account, sends the optional email, and welcomes the new user", async () => {
    const { requests } = mockFetch({
      "GET /api/check_session": () => noContent(),
      "POST /api/signup": () => json({ ...ada, email: "ada@example.com" }, 201),
      "GET /api/posts": () => json({ posts: [], next: null }),
    });
    renderApp("/signup");

    await fillSignup({ username: "ada", email: "ada@example.com", password: "correct horse", confirmation: "correct horse" });

    expect(await screen.findByRole("heading", { level: 1, name: "Welcome, ada!" })).toBeInTheDocument();
    expect(requests.find((r) => r.path === "/api/signup")?.json).toEqual({
      username: "ada",
      email: "ada@example.com",
      password: "correct horse",
      password_confirmation: "correct horse",
    });
  });

  it("disables the button while the request is in flight", async () => {
    let answer: (response: Response) => void = () => {};
    mockFetch({
      "GET /api/check_session": () => noContent(),
      "POST /api/signup": () => new Promise<Response>((resolve) => (answer = resolve)),
    });
    renderApp("/signup");

    await fillSignup({ username: "ada", password: "correct horse", confirmation: "correct horse" });

    expect(screen.getByRole("button", { name: "Creating account…" })).toBeDisabled();
    answer(apiError(503, "unavailable"));
    expect(await screen.findByRole("button", { name: "Create account" })).toBeEnabled();
    expect(screen.getByRole("alert")).toHaveTextContent(/temporarily unavailable/);
  });
});
