import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { forgetFeatures } from "../components/useFeatures";
import { ada, apiError, json, mockFetch, noContent } from "../test/fetchMock";
import { renderApp } from "../test/renderApp";
import { fakeAssertion, installAuthenticator, uninstallAuthenticator } from "../test/webauthnMock";

afterEach(() => {
  vi.unstubAllGlobals();
  uninstallAuthenticator();
  forgetFeatures();
});

// jsdom's pages live at http://localhost:3000.
const withPasskeys = {
  signup: true,
  email: false,
  require_verified_email: false,
  passkeys: true,
  passkey_rp_id: "localhost",
};
const loginOptions = {
  ceremony: "login-ceremony",
  options: { publicKey: { challenge: "AQID", rpId: "localhost", allowCredentials: [], userVerification: "required" } },
  mediation: "conditional",
};
const signedOut = { "GET /api/check_session": () => noContent(), "GET /api/posts": () => json({ posts: [], next: null }) };

describe("Log in with a passkey", () => {
  it("needs no username: the chosen passkey logs in like a password", async () => {
    const authenticator = installAuthenticator();
    const { requests } = mockFetch({
      ...signedOut,
      "GET /api/features": () => json(withPasskeys),
      "POST /api/login/passkey/options": () => json(loginOptions),
      "POST /api/login/passkey": () => json(ada),
    });
    renderApp("/login");

    await userEvent.click(await screen.findByRole("button", { name: "Sign in with a passkey" }));

    expect(await screen.findByRole("heading", { level: 1, name: "Welcome, ada!" })).toBeInTheDocument();
    expect(authenticator.get).toHaveBeenCalledTimes(1);
    expect(requests.find((r) => r.path === "/api/login/passkey")?.json).toEqual({
      ceremony: "login-ceremony",
      credential: {
        id: "AQID_w",
        rawId: "AQID_w",
        type: "public-key",
        response: { authenticatorData: "SZY", clientDataJSON: "e30", signature: "MEU", userHandle: "Bw" },
        extensions: {},
      },
    });
  });

  it("says so when the passkey is not accepted, and when the dialog is closed", async () => {
    let closed = false;
    installAuthenticator({
      get: async () => {
        if (closed) throw new DOMException("timed out or not allowed", "NotAllowedError");
        return fakeAssertion();
      },
    });
    mockFetch({
      ...signedOut,
      "GET /api/features": () => json(withPasskeys),
      "POST /api/login/passkey/options": () => json(loginOptions),
      "POST /api/login/passkey": () => apiError(401, "invalid_passkey"),
    });
    renderApp("/login");

    await userEvent.click(await screen.findByRole("button", { name: "Sign in with a passkey" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("That passkey is not accepted here.");
    closed = true;
    await userEvent.click(screen.getByRole("button", { name: "Sign in with a passkey" }));
    await waitFor(() => expect(screen.getByRole("alert")).toHaveTextContent("No passkey was used"));
  });

  it("is not offered when the server has no passkeys or the browser cannot use them", async () => {
    mockFetch({ ...signedOut, "GET /api/features": () => json(withPasskeys) });
    renderApp("/login");
    expect(await screen.findByRole("button", { name: "Log in" })).toBeInTheDocument();
    // No window.PublicKeyCredential in this browser.
    await waitFor(() => expect(screen.queryByRole("button", { name: /passkey/ })).not.toBeInTheDocument());
  });

  it("links to the RP id's host from an address passkeys cannot work on", async () => {
    installAuthenticator();
    mockFetch({ ...signedOut, "GET /api/features": () => json({ ...withPasskeys, passkey_rp_id: "example.com" }) });
    renderApp("/login");
    const link = await screen.findByRole("link", { name: "Open this page at example.com" });
    expect(link).toHaveAttribute("href", "http://example.com:3000/");
    expect(screen.queryByRole("button", { name: "Sign in with a passkey" })).not.toBeInTheDocument();
  });
});

describe("A passkey as the second step", () => {
  const challenge = {
    challenge: "c".repeat(43),
    methods: ["totp", "recovery_code", "webauthn"],
    expires_in: 300,
    webauthn: { publicKey: { challenge: "AQID", rpId: "localhost", allowCredentials: [{ type: "public-key", id: "AQID_w" }] } },
  };

  it("is offered next to the code and finishes the login", async () => {
    const authenticator = installAuthenticator();
    const { requests } = mockFetch({
      ...signedOut,
      "GET /api/features": () => json(withPasskeys),
      "POST /api/login": () => apiError(401, "second_factor_required", challenge),
      "POST /api/login/second-factor": () => json(ada),
    });
    renderApp("/login");
    await userEvent.type(await screen.findByLabelText("Username or email"), "ada");
    await userEvent.type(screen.getByLabelText("Password"), "correct horse");
    await userEvent.click(screen.getByRole("button", { name: "Log in" }));

    expect(await screen.findByLabelText("Authentication code")).toBeInTheDocument();
    await userEvent.click(await screen.findByRole("button", { name: "Use a passkey" }));

    expect(await screen.findByRole("heading", { level: 1, name: "Welcome, ada!" })).toBeInTheDocument();
    const options = (authenticator.get.mock.calls[0] as unknown as [CredentialRequestOptions])[0].publicKey;
    expect([...new Uint8Array(options?.allowCredentials?.[0]?.id as ArrayBuffer)]).toEqual([1, 2, 3, 255]);
    const second = requests.find((r) => r.path === "/api/login/second-factor")?.json as Record<string, unknown>;
    expect(second.challenge).toBe(challenge.challenge);
    expect(second).toHaveProperty("credential.response.signature", "MEU");
    expect(second).not.toHaveProperty("code");
  });

  it("is not offered for an account without passkeys", async () => {
    installAuthenticator();
    mockFetch({
      ...signedOut,
      "GET /api/features": () => json(withPasskeys),
      "POST /api/login": () =>
        apiError(401, "second_factor_required", { ...challenge, methods: ["totp", "recovery_code"], webauthn: undefined }),
    });
    renderApp("/login");
    await userEvent.type(await screen.findByLabelText("Username or email"), "ada");
    await userEvent.type(screen.getByLabelText("Password"), "correct horse");
    await userEvent.click(screen.getByRole("button", { name: "Log in" }));
    expect(await screen.findByLabelText("Authentication code")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Use a passkey" })).not.toBeInTheDocument();
  });
});

describe("Passkeys on the account page", () => {
  const laptop = { id: 3, name: "Laptop", created_at: "2026-12-01T10:00:00Z", last_used_at: null };
  const registration = {
    ceremony: "reg-ceremony",
    options: {
      publicKey: {
        rp: { id: "localhost", name: "latchkey" },
        user: { id: "Bw", name: "ada", displayName: "ada" },
        challenge: "AQID",
        pubKeyCredParams: [{ type: "public-key", alg: -7 }],
        excludeCredentials: [{ type: "public-key", id: "AQID_w" }],
      },
    },
  };
  const account = {
    "GET /api/check_session": () => json(ada),
    "GET /api/features": () => json(withPasskeys),
    "GET /api/me/sessions": () => json([]),
    "GET /api/me/second-factors": () =>
      json({ totp_enabled: false, totp_pending: false, recovery_codes_left: 0, methods: [] }),
  };

  it("adds one after confirming the password, named by the user", async () => {
    installAuthenticator();
    let stepUpDone = false;
    let list = [laptop];
    const { requests } = mockFetch({
      ...account,
      "GET /api/me/passkeys": () => json({ passkeys: list }),
      "POST /api/me/passkeys/registration": () =>
        stepUpDone ? json(registration) : apiError(403, "reauthentication_required"),
      "POST /api/reauthenticate": () => {
        stepUpDone = true;
        return json({ step_up_expires_in: 300 });
      },
      "POST /api/me/passkeys": () => {
        const phone = { ...laptop, id: 4, name: "Phone" };
        list = [laptop, phone];
        return json(phone, 201);
      },
    });
    renderApp("/account");

    const section = await screen.findByRole("region", { name: "Passkeys" });
    expect(await within(section).findByText("Laptop")).toBeInTheDocument();
    expect(within(section).getByText(/never used/)).toBeInTheDocument();
    await userEvent.click(within(section).getByRole("button", { name: "Add a passkey" }));
    const name = within(section).getByLabelText("Passkey name");
    await userEvent.clear(name);
    await userEvent.click(within(section).getByRole("button", { name: "Create passkey" }));
    expect(name).toHaveAccessibleDescription(/Give the passkey a name/);
    await userEvent.type(name, " Phone ");
    await userEvent.click(within(section).getByRole("button", { name: "Create passkey" }));

    await userEvent.type(await within(section).findByLabelText("Your password"), "correct horse");
    await userEvent.click(within(section).getByRole("button", { name: "Confirm" }));

    expect(await within(section).findByText("Passkey “Phone” added.")).toBeInTheDocument();
    expect(await within(section).findByText("Phone")).toBeInTheDocument();
    const added = requests.find((r) => r.method === "POST" && r.path === "/api/me/passkeys")?.json;
    expect(added).toMatchObject({
      ceremony: "reg-ceremony",
      name: "Phone",
      credential: { rawId: "AQID_w", response: { attestationObject: "o2M", clientDataJSON: "e30" } },
    });
  });

  it("removes one only after the confirming click", async () => {
    let list = [laptop];
    const { requests } = mockFetch({
      ...account,
      "GET /api/me/passkeys": () => json({ passkeys: list }),
      "DELETE /api/me/passkeys/3": () => {
        list = [];
        return noContent();
      },
    });
    renderApp("/account");

    const section = await screen.findByRole("region", { name: "Passkeys" });
    await userEvent.click(await within(section).findByRole("button", { name: "Remove passkey Laptop" }));
    expect(requests.filter((r) => r.method === "DELETE")).toHaveLength(0);
    await userEvent.click(within(section).getByRole("button", { name: "Remove" }));

    expect(await within(section).findByText(/Passkey “Laptop” removed/)).toBeInTheDocument();
    expect(await within(section).findByText("No passkeys yet.")).toBeInTheDocument();
    // This test's browser has no WebAuthn: the list works, adding is not offered.
    expect(within(section).queryByRole("button", { name: "Add a passkey" })).not.toBeInTheDocument();
    expect(within(section).getByText("This browser cannot make passkeys.")).toBeInTheDocument();
  });

  it("is absent when the server has no passkeys", async () => {
    mockFetch({ ...account, "GET /api/features": () => json({ ...withPasskeys, passkeys: false }) });
    renderApp("/account");
    expect(await screen.findByRole("region", { name: "Two-step verification" })).toBeInTheDocument();
    await waitFor(() => expect(screen.queryByRole("region", { name: "Passkeys" })).not.toBeInTheDocument());
  });
});
