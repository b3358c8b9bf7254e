import { afterEach, describe, expect, it, vi } from "vitest";
import { createClient, isLatchkeyError } from "../src/index";
import { errorAnswer, fakeServer, json, noContent } from "./fakes";
import { installAuthenticator, uninstallAuthenticator } from "./webauthnMock";

afterEach(() => {
  vi.unstubAllGlobals();
  uninstallAuthenticator();
});

/** `POST /api/me/recovery-codes` refuses until the login has been renewed. */
function stepUpServer() {
  let renewed = false;
  return fakeServer({
    "POST /api/me/recovery-codes": () => (renewed ? json({ recovery_codes: [] }) : errorAnswer(403, "reauthentication_required")),
    "POST /api/reauthenticate": () => {
      renewed = true;
      return noContent();
    },
    "POST /api/reauthenticate/passkey/options": () => json({ ceremony: "r".repeat(43), options: { publicKey: { challenge: "AQID" } } }),
    "POST /api/reauthenticate/passkey": () => {
      renewed = true;
      return json({});
    },
  });
}

const newRecoveryCodes = (auth: ReturnType<typeof createClient>) => () =>
  auth.api.POST("/api/me/recovery-codes");

describe("withStepUp", () => {
  it("asks for the password after reauthentication_required, renews the login and retries once", async () => {
    const server = stepUpServer();
    const auth = createClient({ fetch: server.fetch });
    const confirm = vi.fn(() => ({ password: "correct horse" }));

    await expect(auth.withStepUp(newRecoveryCodes(auth), confirm)).resolves.toEqual({ recovery_codes: [] });

    expect(confirm).toHaveBeenCalledTimes(1);
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      "POST /api/me/recovery-codes",
      "POST /api/reauthenticate",
      "POST /api/me/recovery-codes",
    ]);
    expect(server.requests[1]?.body).toEqual({ password: "correct horse" });
  });

  it("renews with a passkey when confirm says so", async () => {
    installAuthenticator();
    const server = stepUpServer();
    const auth = createClient({ fetch: server.fetch });

    await auth.withStepUp(newRecoveryCodes(auth), async () => "passkey" as const);

    expect(server.requests.map((r) => r.path)).toEqual([
      "/api/me/recovery-codes",
      "/api/reauthenticate/passkey/options",
      "/api/reauthenticate/passkey",
      "/api/me/recovery-codes",
    ]);
    expect(server.requests[2]?.body).toMatchObject({ ceremony: "r".repeat(43), credential: { type: "public-key" } });
  });

  it("gives up with the original error when confirm answers null", async () => {
    const server = stepUpServer();
    const auth = createClient({ fetch: server.fetch });
    const error = await auth.withStepUp(newRecoveryCodes(auth), () => null).catch((e: unknown) => e);
    expect(isLatchkeyError(error, "reauthentication_required")).toBe(true);
    expect(server.requests).toHaveLength(1);
  });

  it("does not ask for anything on other errors", async () => {
    const auth = createClient({ fetch: fakeServer({ "POST /api/me/recovery-codes": () => errorAnswer(422, "validation_failed") }).fetch });
    const confirm = vi.fn(() => ({ password: "x" }));
    await expect(auth.withStepUp(newRecoveryCodes(auth), confirm)).rejects.toMatchObject({ code: "validation_failed" });
    expect(confirm).not.toHaveBeenCalled();
  });
});

describe("step-up with tokens", () => {
  it("uses the access token the re-authentication answers for the retry", async () => {
    const storage = new Map<string, string>([["latchkey:refresh_token", "refresh-1"]]);
    const server = fakeServer({
      "POST /api/token/refresh": () =>
        json({ access_token: "old", token_type: "Bearer", expires_in: 900, refresh_token: "refresh-2", user: { id: 1, username: "a", email_verified: false, roles: ["user"], created_at: "" } }),
      "POST /api/me/recovery-codes": (r) =>
        r.headers.authorization === "Bearer renewed" ? json({ recovery_codes: ["x"] }) : errorAnswer(403, "reauthentication_required"),
      "POST /api/reauthenticate": () => json({ access_token: "renewed", expires_in: 900, step_up_expires_in: 300 }),
    });
    const auth = createClient({
      mode: "token",
      fetch: server.fetch,
      locks: null,
      channel: null,
      storage: { getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => void storage.set(k, v), removeItem: (k) => void storage.delete(k) },
    });

    await expect(auth.withStepUp(() => auth.api.POST("/api/me/recovery-codes"), () => ({ code: "123456" }))).resolves.toEqual({
      recovery_codes: ["x"],
    });
    expect(server.requests.filter((r) => r.path === "/api/token/refresh")).toHaveLength(1);
  });
});
