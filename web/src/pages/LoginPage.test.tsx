import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ada, apiError, json, mockFetch, noContent } from "../test/fetchMock";
import { renderApp } from "../test/renderApp";

afterEach(() => vi.unstubAllGlobals());

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
