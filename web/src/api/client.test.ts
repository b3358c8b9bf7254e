import { afterEach, describe, expect, it, vi } from "vitest";
import { uploadAvatar } from "./account";
import { listUsers } from "./admin";
import { checkSession, login, signup } from "./auth";
import { api, ApiError, formatWait, onUnauthorized, parseRetryAfter } from "./client";
import { ada, apiError, json, mockFetch, noContent } from "../test/fetchMock";

afterEach(() => vi.unstubAllGlobals());

const newAccount = { username: "ada", password: "correct horse", password_confirmation: "correct horse" };

async function failure(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => {
      throw new Error("expected the request to fail");
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

describe("calls", () => {
  it("sends the session cookie and a JSON body, and parses the JSON answer", async () => {
    const { requests } = mockFetch({ "POST /api/login": () => json(ada) });

    const user = await login("ada", "correct horse");

    expect(user).toEqual(ada);
    expect(requests).toHaveLength(1);
    const [sent] = requests;
    expect(sent?.init.credentials).toBe("include");
    expect(sent?.init.headers).toMatchObject({ "Content-Type": "application/json", Accept: "application/json" });
    expect(sent?.json).toEqual({ username: "ada", password: "correct horse" });
  });

  it("sends no Content-Type and no body on a GET", async () => {
    const { requests } = mockFetch({ "GET /api/me": () => json(ada) });
    await api.GET("/api/me");
    expect(requests[0]?.init.body).toBeUndefined();
    expect(requests[0]?.init.headers).not.toHaveProperty("Content-Type");
  });

  it("resolves undefined for 204 and check_session maps it to anonymous", async () => {
    mockFetch({ "DELETE /api/logout": () => noContent(), "GET /api/check_session": () => noContent() });
    await expect(api.DELETE("/api/logout")).resolves.toBeUndefined();
    await expect(checkSession()).resolves.toBeNull();
  });

  it("check_session 200 gives the user", async () => {
    mockFetch({ "GET /api/check_session": () => json(ada) });
    await expect(checkSession()).resolves.toEqual(ada);
  });

  it("uploads a file as the raw body with the file's own type", async () => {
    const { requests } = mockFetch({ "PUT /api/me/avatar": () => noContent() });
    const file = new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], "me.png", { type: "image/png" });

    await uploadAvatar(file);

    expect(requests[0]?.init.body).toBe(file);
    expect(requests[0]?.init.headers).toMatchObject({ "Content-Type": "image/png" });
    expect(requests[0]?.init.credentials).toBe("include");
  });

  it("puts only the cursors that are set into the query string", async () => {
    const { requests } = mockFetch({ "GET /api/users": () => json({ users: [], next: null }) });
    await listUsers({ limit: 50, after: null });
    await listUsers({ limit: 50, after: 17 });
    expect(requests.map((r) => r.path)).toEqual(["/api/users?limit=50", "/api/users?limit=50&after=17"]);
  });
});

describe("errors", () => {
  it("words invalid_credentials for people and keeps status and code", async () => {
    mockFetch({ "POST /api/login": () => apiError(401, "invalid_credentials") });
    const error = await failure(login("ada", "nope"));
    expect(error).toMatchObject({ status: 401, code: "invalid_credentials", message: "Wrong username or password." });
  });

  it("tells how long to wait from Retry-After on rate_limited", async () => {
    mockFetch({ "POST /api/login": () => apiError(429, "rate_limited", {}, { "Retry-After": "42" }) });
    const error = await failure(login("ada", "nope"));
    expect(error.retryAfter).toBe(42);
    expect(error.message).toBe("Too many attempts. Try again in 42 seconds.");
  });

  it("still explains rate_limited when Retry-After is missing", async () => {
    mockFetch({ "POST /api/login": () => apiError(429, "rate_limited") });
    const error = await failure(login("ada", "nope"));
    expect(error.retryAfter).toBeUndefined();
    expect(error.message).toBe("Too many attempts. Try again later.");
  });

  it("turns validation_failed fields into sentences per field", async () => {
    mockFetch({
      "POST /api/signup": () =>
        apiError(422, "validation_failed", {
          fields: {
            password: "must be at least 8 characters",
            new_password: "is too common; choose another.",
            password_confirmation: "does not match the password",
            email: "Use an address like ada@example.com",
          },
        }),
    });
    const error = await failure(signup(newAccount));
    expect(error.code).toBe("validation_failed");
    expect(error.fields).toEqual({
      password: "Password must be at least 8 characters.",
      new_password: "New password is too common; choose another.",
      password_confirmation: "The confirmation does not match the password.",
      email: "Use an address like ada@example.com.",
    });
  });

  it("puts username_taken and email_taken on their field", async () => {
    const answers = [apiError(409, "username_taken"), apiError(409, "email_taken")];
    mockFetch({ "POST /api/signup": () => answers.shift() ?? noContent() });
    const username = await failure(signup(newAccount));
    expect(username.fields).toEqual({ username: "That username is already taken." });
    const email = await failure(signup(newAccount));
    expect(email.fields).toEqual({ email: "An account with that email address already exists." });
  });

  it.each([
    [403, "csrf_rejected", /did not seem to come from this site/],
    [503, "unavailable", /temporarily unavailable/],
    [409, "last_admin", /leave no administrator/],
    [413, "payload_too_large", /too large/],
    [415, "unsupported_media_type", /PNG, JPEG or GIF/],
    [403, "forbidden", /not allowed/],
    [500, "internal", /went wrong on the server/],
    [403, "signup_disabled", /does not create new accounts/],
    [409, "account_exists", /account with this email address already exists\. Log in with your password, then connect/],
    [409, "identity_in_use", /already connected to another account/],
    [401, "federation_expired", /took too long, was already finished, or was started in another browser/],
    [401, "federation_failed", /did not work/],
    [503, "provider_unavailable", /provider could not be reached/],
    [409, "last_credential", /^This is your only way to log in: set a password or add a passkey first\.$/],
  ])("maps %i %s to a sentence a person understands", async (status, code, wording) => {
    mockFetch({ "GET /api/me": () => apiError(status, code) });
    const error = await failure(api.GET("/api/me"));
    expect(error.status).toBe(status);
    expect(error.code).toBe(code);
    expect(error.message).toMatch(wording);
    expect(error.message).not.toContain("server says");
  });

  it("derives the code from the status when the body is not JSON (a proxy's error page)", async () => {
    mockFetch({ "GET /api/me": () => new Response("<html>Bad Gateway</html>", { status: 502 }) });
    const error = await failure(api.GET("/api/me"));
    expect(error).toMatchObject({ status: 502, code: "internal" });
    expect(error.message).toMatch(/went wrong on the server/);
  });

  it("reports a network failure as network_error with status 0", async () => {
    vi.stubGlobal("fetch", vi.fn().mockRejectedValue(new TypeError("Failed to fetch")));
    const error = await failure(api.GET("/api/me"));
    expect(error).toMatchObject({ status: 0, code: "network_error" });
    expect(error.message).toMatch(/Could not reach the server/);
  });

  it("lets an abort through untouched so callers can ignore it", async () => {
    const abort = new DOMException("The operation was aborted.", "AbortError");
    vi.stubGlobal("fetch", vi.fn().mockRejectedValue(abort));
    await expect(api.GET("/api/me")).rejects.toBe(abort);
  });

  it("tells unauthorized listeners about a dead session, and only about that", async () => {
    mockFetch({
      "GET /api/me/sessions": () => apiError(401, "unauthorized"),
      "POST /api/login": () => apiError(401, "invalid_credentials"),
    });
    const listener = vi.fn();
    const unsubscribe = onUnauthorized(listener);

    await failure(login("ada", "nope"));
    expect(listener).not.toHaveBeenCalled();
    await failure(api.GET("/api/me/sessions"));
    expect(listener).toHaveBeenCalledTimes(1);

    unsubscribe();
    await failure(api.GET("/api/me/sessions"));
    expect(listener).toHaveBeenCalledTimes(1);
  });
});

describe("Retry-After", () => {
  it("reads delta-seconds and HTTP dates", () => {
    const now = Date.parse("2026-11-22T12:00:00Z");
    expect(parseRetryAfter("120", now)).toBe(120);
    expect(parseRetryAfter("Sun, 22 Nov 2026 12:01:30 GMT", now)).toBe(90);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it("rounds waits up into words", () => {
    expect(formatWait(1)).toBe("1 second");
    expect(formatWait(0)).toBe("1 second");
    expect(formatWait(59)).toBe("59 seconds");
    expect(formatWait(60)).toBe("1 minute");
    expect(formatWait(61)).toBe("2 minutes");
    expect(formatWait(900)).toBe("15 minutes");
  });
});
