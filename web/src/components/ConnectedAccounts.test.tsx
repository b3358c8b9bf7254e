import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ada, apiError, json, mockFetch, noContent, root } from "../test/fetchMock";
import { currentPath, renderApp } from "../test/renderApp";
import { forgetFeatures } from "./useFeatures";

// jsdom cannot leave the page: the round trips to the provider end here.
const { leaveTo } = vi.hoisted(() => ({ leaveTo: vi.fn<(url: string) => void>() }));
vi.mock("../lib/leave", () => ({ leaveTo }));

afterEach(() => {
  leaveTo.mockReset();
  vi.unstubAllGlobals();
  forgetFeatures();
  sessionStorage.clear();
});

const features = {
  signup: true,
  email: true,
  require_verified_email: false,
  passkeys: false,
  passkey_rp_id: null,
  providers: [
    { id: "test", label: "Test provider" },
    { id: "github", label: "GitHub" },
  ],
};
const github = {
  id: 3,
  provider: "github",
  label: "GitHub",
  email: "ada@example.com",
  email_verified: true,
  created_at: "2026-11-22T12:00:00Z",
  last_used_at: null,
};
const test = { ...github, id: 4, provider: "test", label: "Test provider", email: null, last_used_at: "2026-11-23T08:00:00Z" };
const adaWithEmail = { ...ada, email: "ada@example.com", email_verified: true };
const account = {
  "GET /api/check_session": () => json(adaWithEmail),
  "GET /api/features": () => json(features),
  "GET /api/me/sessions": () => json([]),
  "GET /api/me/second-factors": () => json({ totp_enabled: false, totp_pending: false, recovery_codes_left: 0, methods: [] }),
};

async function section() {
  return screen.findByRole("region", { name: "Connected accounts" });
}

describe("Connected accounts", () => {
  it("lists them and connects another provider through a round trip", async () => {
    const { requests } = mockFetch({
      ...account,
      "GET /api/me/identities": () => json({ identities: [github], has_password: true }),
      "POST /api/federation/test/link": () => json({ redirect: "http://127.0.0.1:4100/auth?state=s" }),
    });
    renderApp("/account");

    const list = await within(await section()).findByRole("list", { name: "Connected accounts" });
    expect(list).toHaveTextContent("GitHub");
    expect(list).toHaveTextContent("ada@example.com");
    expect(list).toHaveTextContent("never used to log in");
    // GitHub is connected already; only the other provider is offered.
    expect(screen.queryByRole("button", { name: "Connect GitHub" })).not.toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Connect Test provider" }));

    await waitFor(() => expect(leaveTo).toHaveBeenCalledWith("http://127.0.0.1:4100/auth?state=s"));
    expect(requests.find((r) => r.path === "/api/federation/test/link")?.json).toEqual({ return_to: "/account" });
  });

  it("asks for the password when the login is too old, then connects", async () => {
    let stepUpDone = false;
    const { requests } = mockFetch({
      ...account,
      "GET /api/me/identities": () => json({ identities: [], has_password: true }),
      "POST /api/federation/github/link": () =>
        stepUpDone ? json({ redirect: "https://github.example/authorize" }) : apiError(403, "reauthentication_required"),
      "POST /api/reauthenticate": () => {
        stepUpDone = true;
        return json({ step_up_expires_in: 300 });
      },
    });
    renderApp("/account");

    const region = await section();
    expect(await within(region).findByText("No connected accounts yet.")).toBeInTheDocument();
    await userEvent.click(within(region).getByRole("button", { name: "Connect GitHub" }));
    await userEvent.type(await within(region).findByLabelText("Your password"), "correct horse");
    await userEvent.click(within(region).getByRole("button", { name: "Confirm" }));

    await waitFor(() => expect(leaveTo).toHaveBeenCalledWith("https://github.example/authorize"));
    expect(requests.filter((r) => r.path === "/api/federation/github/link")).toHaveLength(2);
    expect(requests.find((r) => r.path === "/api/reauthenticate")?.json).toEqual({ password: "correct horse" });
  });

  it("disconnects after the confirming click, and explains a refusal of the last way in", async () => {
    let identities = [github, test];
    mockFetch({
      ...account,
      "GET /api/me/identities": () => json({ identities, has_password: false }),
      "DELETE /api/me/identities/4": () => {
        identities = [github];
        return noContent();
      },
      "DELETE /api/me/identities/3": () => apiError(409, "last_credential"),
    });
    renderApp("/account");

    const region = await section();
    await userEvent.click(await within(region).findByRole("button", { name: "Disconnect Test provider" }));
    await userEvent.click(within(region).getByRole("button", { name: "Disconnect" }));
    expect(await within(region).findByText(/Disconnected Test provider\./)).toBeInTheDocument();
    await waitFor(() => expect(within(region).queryByRole("button", { name: "Disconnect Test provider" })).not.toBeInTheDocument());
    expect(within(region).getByRole("button", { name: "Connect Test provider" })).toBeInTheDocument();

    await userEvent.click(within(region).getByRole("button", { name: "Disconnect GitHub" }));
    await userEvent.click(within(region).getByRole("button", { name: "Disconnect" }));
    expect(await within(region).findByRole("alert")).toHaveTextContent(
      "This is your only way to log in: set a password or add a passkey first.",
    );
  });

  it("without a password, confirms at a connected provider and finishes the change on return", async () => {
    let stepUpDone = false;
    let identities = [github, test];
    const { requests } = mockFetch({
      ...account,
      "GET /api/me/identities": () => json({ identities, has_password: false }),
      "DELETE /api/me/identities/4": () => {
        if (!stepUpDone) return apiError(403, "reauthentication_required");
        identities = [github];
        return noContent();
      },
      "POST /api/federation/github/reauthenticate": () => json({ redirect: "https://github.example/authorize?prompt=login" }),
      "POST /api/federation/continue": () => {
        stepUpDone = true;
        return json({ reauthenticated: true, return_to: "/account" });
      },
    });
    const { router } = renderApp("/account");

    const region = await section();
    await userEvent.click(await within(region).findByRole("button", { name: "Disconnect Test provider" }));
    await userEvent.click(within(region).getByRole("button", { name: "Disconnect" }));
    // No password to type: a fresh login at one of the account's providers.
    expect(await within(region).findByText(/log in again with Test provider or GitHub/)).toBeInTheDocument();
    expect(within(region).queryByLabelText("Your password")).not.toBeInTheDocument();
    await userEvent.click(within(region).getByRole("button", { name: "Confirm with GitHub" }));
    await waitFor(() => expect(leaveTo).toHaveBeenCalledWith("https://github.example/authorize?prompt=login"));
    expect(requests.find((r) => r.path === "/api/federation/github/reauthenticate")?.json).toEqual({ return_to: "/account" });

    // The provider sends the user back through /login/federated.
    await router.navigate("/login/federated?return_to=%2Faccount");
    expect(await screen.findByText(/Confirmed it is you/)).toBeInTheDocument();
    expect(await screen.findByText(/Disconnected Test provider\./)).toBeInTheDocument();
    expect(requests.filter((r) => r.method === "DELETE")).toHaveLength(2);
    expect(currentPath(router)).toBe("/account");
    expect(router.state.location.state).toBeNull();
  });

  it("never finishes a remembered change without a confirmed step-up", async () => {
    sessionStorage.setItem("latchkey.afterStepUp", JSON.stringify({ kind: "unlink", identity: 4, label: "Test provider" }));
    const { requests } = mockFetch({
      ...account,
      "GET /api/me/identities": () => json({ identities: [github, test], has_password: true }),
    });
    renderApp("/account");
    expect(await within(await section()).findByRole("button", { name: "Disconnect Test provider" })).toBeInTheDocument();
    expect(requests.filter((r) => r.method === "DELETE")).toHaveLength(0);
  });

  it("offers a mailed link instead of a password change to an account without a password", async () => {
    const { requests } = mockFetch({
      ...account,
      "GET /api/me/identities": () => json({ identities: [github], has_password: false }),
      "POST /api/password/forgot": () => noContent(),
    });
    renderApp("/account");

    const password = await screen.findByRole("region", { name: "Password" });
    expect(password).toHaveTextContent("Your account has no password yet");
    expect(within(password).queryByLabelText("Current password")).not.toBeInTheDocument();
    await userEvent.click(within(password).getByRole("button", { name: "Mail me a link to set a password" }));
    expect(await within(password).findByText(/on its way to ada@example.com/)).toBeInTheDocument();
    expect(requests.find((r) => r.path === "/api/password/forgot")?.json).toEqual({ username: "ada@example.com" });
  });

  it("asks an account without a password only for the new address, and sends no password", async () => {
    const { requests } = mockFetch({
      ...account,
      "GET /api/me/identities": () => json({ identities: [github], has_password: false }),
      "PUT /api/me/email": () => new Response(null, { status: 202 }),
    });
    renderApp("/account");

    const email = await screen.findByRole("region", { name: "Change email address" });
    // Once the account is known to have no password, its field goes away.
    await waitFor(() => expect(within(email).queryByLabelText("Current password")).not.toBeInTheDocument());
    expect(email).not.toHaveTextContent(/set one first|needs your password/);
    await userEvent.type(within(email).getByLabelText("New email address"), "ada@example.org");
    await userEvent.click(within(email).getByRole("button", { name: "Change email address" }));
    expect(await within(email).findByText(/We sent a link to ada@example.org/)).toBeInTheDocument();
    expect(requests.filter((r) => r.path === "/api/me/email").map((r) => r.json)).toEqual([{ new_email: "ada@example.org" }]);
  });

  it("without a password, confirms the address change at a provider and sends it on return", async () => {
    let stepUpDone = false;
    const { requests } = mockFetch({
      ...account,
      "GET /api/me/identities": () => json({ identities: [github], has_password: false }),
      "PUT /api/me/email": () => (stepUpDone ? new Response(null, { status: 202 }) : apiError(403, "reauthentication_required")),
      "POST /api/federation/github/reauthenticate": () => json({ redirect: "https://github.example/authorize?prompt=login" }),
      "POST /api/federation/continue": () => {
        stepUpDone = true;
        return json({ reauthenticated: true, return_to: "/account" });
      },
    });
    const { router } = renderApp("/account");

    const email = await screen.findByRole("region", { name: "Change email address" });
    await waitFor(() => expect(within(email).queryByLabelText("Current password")).not.toBeInTheDocument());
    await userEvent.type(within(email).getByLabelText("New email address"), "ada@example.org");
    await userEvent.click(within(email).getByRole("button", { name: "Change email address" }));
    const prompt = await within(email).findByRole("group", { name: "Confirm it is you" });
    expect(prompt).toHaveTextContent(/log in again with GitHub/);
    await userEvent.click(within(prompt).getByRole("button", { name: "Confirm with GitHub" }));
    await waitFor(() => expect(leaveTo).toHaveBeenCalledWith("https://github.example/authorize?prompt=login"));
    expect(requests.find((r) => r.path === "/api/federation/github/reauthenticate")?.json).toEqual({ return_to: "/account" });

    // The provider sends the user back through /login/federated; the address goes again.
    await router.navigate("/login/federated?return_to=%2Faccount");
    expect(await screen.findByText(/Confirmed it is you/)).toBeInTheDocument();
    const back = await screen.findByRole("region", { name: "Change email address" });
    expect(await within(back).findByText(/We sent a link to ada@example.org/)).toBeInTheDocument();
    expect(requests.filter((r) => r.path === "/api/me/email").map((r) => r.json)).toEqual([
      { new_email: "ada@example.org" },
      { new_email: "ada@example.org" },
    ]);
    expect(currentPath(router)).toBe("/account");
    expect(sessionStorage.getItem("latchkey.afterStepUp")).toBeNull();
  });

  it("turns the authenticator app off with a code alone for an account without a password", async () => {
    let totpOn = true;
    const { requests } = mockFetch({
      ...account,
      "GET /api/me/identities": () => json({ identities: [github], has_password: false }),
      "GET /api/me/second-factors": () =>
        json({ totp_enabled: totpOn, totp_pending: false, recovery_codes_left: totpOn ? 10 : 0, methods: totpOn ? ["totp"] : [] }),
      "POST /api/me/totp/disable": () => {
        totpOn = false;
        return noContent();
      },
    });
    renderApp("/account");
    await section();
    await waitFor(() => expect(requests.some((r) => r.path === "/api/me/identities")).toBe(true));

    const security = screen.getByRole("region", { name: "Two-step verification" });
    await userEvent.click(await within(security).findByRole("button", { name: "Turn off" }));
    const form = await within(security).findByRole("form", { name: "Turn off authenticator app" });
    expect(security).not.toHaveTextContent(/set one first|needs your password/);
    expect(within(form).queryByLabelText("Your password")).not.toBeInTheDocument();
    await userEvent.type(within(form).getByLabelText("Code from the app, or a recovery code"), "123 456");
    await userEvent.click(within(form).getByRole("button", { name: "Turn off authenticator app" }));

    expect(await within(security).findByRole("button", { name: "Set up authenticator app" })).toBeInTheDocument();
    expect(requests.filter((r) => r.path === "/api/me/totp/disable").map((r) => r.json)).toEqual([{ code: "123456" }]);
  });

  it("without a password, confirms at a provider to turn the app off, then asks for a fresh code on return", async () => {
    let stepUpDone = false;
    let totpOn = true;
    const { requests } = mockFetch({
      ...account,
      "GET /api/me/identities": () => json({ identities: [github, test], has_password: false }),
      "GET /api/me/second-factors": () =>
        json({ totp_enabled: totpOn, totp_pending: false, recovery_codes_left: totpOn ? 10 : 0, methods: totpOn ? ["totp"] : [] }),
      "POST /api/me/totp/disable": () => {
        if (!stepUpDone) return apiError(403, "reauthentication_required");
        totpOn = false;
        return noContent();
      },
      "POST /api/federation/test/reauthenticate": () => json({ redirect: "http://127.0.0.1:4100/auth?prompt=login" }),
      "POST /api/federation/continue": () => {
        stepUpDone = true;
        return json({ reauthenticated: true, return_to: "/account" });
      },
    });
    const { router } = renderApp("/account");
    await section();
    await waitFor(() => expect(requests.some((r) => r.path === "/api/me/identities")).toBe(true));

    const security = screen.getByRole("region", { name: "Two-step verification" });
    await userEvent.click(await within(security).findByRole("button", { name: "Turn off" }));
    await userEvent.type(await within(security).findByLabelText("Code from the app, or a recovery code"), "abcd-efgh-ijkl");
    await userEvent.click(within(security).getByRole("button", { name: "Turn off authenticator app" }));
    const prompt = await within(security).findByRole("group", { name: "Confirm it is you" });
    expect(prompt).toHaveTextContent(/log in again with Test provider or GitHub/);
    await userEvent.click(within(prompt).getByRole("button", { name: "Confirm with Test provider" }));
    await waitFor(() => expect(leaveTo).toHaveBeenCalledWith("http://127.0.0.1:4100/auth?prompt=login"));
    // The recovery code is not kept while the user is away.
    expect(sessionStorage.getItem("latchkey.afterStepUp")).not.toContain("abcd");

    await router.navigate("/login/federated?return_to=%2Faccount");
    expect(await screen.findByText(/Confirmed it is you/)).toBeInTheDocument();
    const back = screen.getByRole("region", { name: "Two-step verification" });
    const form = await within(back).findByRole("form", { name: "Turn off authenticator app" });
    expect(form).toHaveTextContent(/To finish turning the authenticator app off, enter the code it shows now/);
    const code = within(form).getByLabelText("Code from the app, or a recovery code");
    expect(code).toHaveValue("");
    expect(code).toHaveFocus();
    await userEvent.type(code, "654321");
    await userEvent.click(within(form).getByRole("button", { name: "Turn off authenticator app" }));

    expect(await within(back).findByRole("button", { name: "Set up authenticator app" })).toBeInTheDocument();
    expect(requests.filter((r) => r.path === "/api/me/totp/disable").map((r) => r.json)).toEqual([
      { recovery_code: "abcd-efgh-ijkl" },
      { code: "654321" },
    ]);
  });

  it("still sends the password to turn the app off for an account that has one", async () => {
    const { requests } = mockFetch({
      ...account,
      "GET /api/me/identities": () => json({ identities: [github], has_password: true }),
      "GET /api/me/second-factors": () => json({ totp_enabled: true, totp_pending: false, recovery_codes_left: 10, methods: ["totp"] }),
      "POST /api/me/totp/disable": () => apiError(401, "invalid_credentials"),
    });
    renderApp("/account");
    await section();

    const security = screen.getByRole("region", { name: "Two-step verification" });
    await userEvent.click(await within(security).findByRole("button", { name: "Turn off" }));
    await userEvent.type(within(security).getByLabelText("Your password"), "correct horse");
    await userEvent.type(within(security).getByLabelText("Code from the app, or a recovery code"), "123456");
    await userEvent.click(within(security).getByRole("button", { name: "Turn off authenticator app" }));
    expect(await within(security).findByRole("alert")).toHaveTextContent("Wrong username or password.");
    expect(requests.filter((r) => r.path === "/api/me/totp/disable").map((r) => r.json)).toEqual([
      { password: "correct horse", code: "123456" },
    ]);
  });

  it("does not finish an abandoned change after a confirmation at the provider for something else", async () => {
    // Left by a disconnect whose confirmation was abandoned at the provider.
    sessionStorage.setItem("latchkey.afterStepUp", JSON.stringify({ kind: "unlink", identity: 4, label: "Test provider" }));
    const { requests } = mockFetch({
      ...account,
      "GET /api/me/identities": () => json({ identities: [github, test], has_password: false }),
      "GET /api/me/second-factors": () => json({ totp_enabled: true, totp_pending: false, recovery_codes_left: 10, methods: ["totp"] }),
      "POST /api/me/recovery-codes": () => apiError(403, "reauthentication_required"),
      "POST /api/federation/github/reauthenticate": () => json({ redirect: "https://github.example/authorize?prompt=login" }),
      "POST /api/federation/continue": () => json({ reauthenticated: true, return_to: "/account" }),
    });
    const { router } = renderApp("/account");
    await section();
    await waitFor(() => expect(requests.some((r) => r.path === "/api/me/identities")).toBe(true));

    const security = screen.getByRole("region", { name: "Two-step verification" });
    await userEvent.click(await within(security).findByRole("button", { name: "New recovery codes" }));
    await userEvent.click(await within(security).findByRole("button", { name: "Confirm with GitHub" }));
    await waitFor(() => expect(leaveTo).toHaveBeenCalled());
    expect(sessionStorage.getItem("latchkey.afterStepUp")).toBeNull();

    await router.navigate("/login/federated?return_to=%2Faccount");
    expect(await screen.findByText(/Confirmed it is you/)).toBeInTheDocument();
    await within(await section()).findByRole("list", { name: "Connected accounts" });
    expect(requests.filter((r) => r.method === "DELETE")).toHaveLength(0);
  });

  it("is absent, and nothing is asked, when the server has no providers", async () => {
    const { requests } = mockFetch({ ...account, "GET /api/features": () => json({ ...features, providers: [] }) });
    renderApp("/account");
    expect(await screen.findByRole("region", { name: "Change password" })).toBeInTheDocument();
    await waitFor(() => expect(requests.some((r) => r.path === "/api/features")).toBe(true));
    expect(screen.queryByRole("region", { name: "Connected accounts" })).not.toBeInTheDocument();
    expect(requests.some((r) => r.path === "/api/me/identities")).toBe(false);
  });
});

describe("Admin: a user's connected accounts", () => {
  it("shows them on demand and removes one", async () => {
    const { requests } = mockFetch({
      "GET /api/check_session": () => json(root),
      "GET /api/features": () => json(features),
      "GET /api/users": () => json({ users: [root, ada], next: null }),
      "GET /api/users/7/identities": () => json({ identities: [github] }),
      "DELETE /api/users/7/identities/3": () => noContent(),
    });
    renderApp("/admin/users");

    await userEvent.click(await screen.findByRole("button", { name: "Connected accounts of ada" }));
    const group = await screen.findByRole("group", { name: "Connected accounts of ada" });
    expect(await within(group).findByText("GitHub")).toBeInTheDocument();
    expect(group).toHaveTextContent("ada@example.com (verified by the provider)");
    await userEvent.click(within(group).getByRole("button", { name: "Remove GitHub from ada" }));
    await userEvent.click(within(group).getByRole("button", { name: "Remove" }));

    expect(await within(group).findByText("GitHub no longer logs in to ada.")).toBeInTheDocument();
    expect(within(group).getByText("ada has no connected accounts.")).toBeInTheDocument();
    expect(requests.filter((r) => r.method === "DELETE").map((r) => r.path)).toEqual(["/api/users/7/identities/3"]);
  });

  it("says who would be locked out when it is the user's last way in", async () => {
    mockFetch({
      "GET /api/check_session": () => json(root),
      "GET /api/features": () => json(features),
      "GET /api/users": () => json({ users: [root, ada], next: null }),
      "GET /api/users/7/identities": () => json({ identities: [github], has_password: false }),
      "DELETE /api/users/7/identities/3": () => apiError(409, "last_credential"),
    });
    renderApp("/admin/users");

    await userEvent.click(await screen.findByRole("button", { name: "Connected accounts of ada" }));
    const group = await screen.findByRole("group", { name: "Connected accounts of ada" });
    expect(await within(group).findByText("ada has no password: they log in only through these.")).toBeInTheDocument();
    await userEvent.click(within(group).getByRole("button", { name: "Remove GitHub from ada" }));
    await userEvent.click(within(group).getByRole("button", { name: "Remove" }));
    expect(await within(group).findByRole("alert")).toHaveTextContent(
      "That is the only way ada can log in: they need a password or a passkey first.",
    );
    expect(within(group).getByText("GitHub")).toBeInTheDocument();
  });
});
