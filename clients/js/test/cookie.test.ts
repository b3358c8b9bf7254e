import { describe, expect, it } from "vitest";
import { createClient, isLatchkeyError, LatchkeyError } from "../src/index";
import { ada, errorAnswer, fakeServer, json, noContent } from "./fakes";

describe("cookie mode", () => {
  it("reads the session with check_session: 200 is the user, 204 nobody", async () => {
    let answer = json(ada);
    const server = fakeServer({ "GET /api/check_session": () => answer });
    const auth = createClient({ fetch: server.fetch });

    await expect(auth.getSession()).resolves.toEqual(ada);
    expect(auth.user).toEqual(ada);
    answer = noContent();
    await expect(auth.getSession()).resolves.toBeNull();
    expect(server.requests.every((r) => r.credentials === "include")).toBe(true);
  });

  it("logs in with the session cookie, sends JSON, and tells listeners", async () => {
    const server = fakeServer({ "POST /api/login": () => json(ada), "DELETE /api/logout": () => noContent() });
    const auth = createClient({ baseUrl: "http://latchkey.test/", fetch: server.fetch });
    const seen: unknown[] = [];
    auth.onChange((user) => seen.push(user));

    await expect(auth.login({ username: "ada", password: "pw" })).resolves.toEqual({ status: "done", user: ada });
    await auth.logout();

    expect(seen).toEqual([ada, null]);
    expect(server.requests[0]).toMatchObject({
      method: "POST",
      path: "/api/login",
      body: { username: "ada", password: "pw" },
      credentials: "include",
      headers: { "content-type": "application/json", accept: "application/json" },
    });
  });

  it("answers a second factor's challenge instead of throwing, and finishes the login with a code", async () => {
    const challenge = { challenge: "c".repeat(43), methods: ["totp", "recovery_code"], expires_in: 300 };
    const server = fakeServer({
      "POST /api/login": () => errorAnswer(401, "second_factor_required", challenge),
      "POST /api/login/second-factor": () => json(ada),
    });
    const auth = createClient({ fetch: server.fetch });

    const result = await auth.login({ username: "ada", password: "pw" });
    expect(result).toEqual({ status: "second_factor", challenge: { ...challenge, webauthn: undefined } });
    if (result.status !== "second_factor") throw new Error("unreachable");
    await expect(auth.completeLogin(result.challenge, { code: "123456" })).resolves.toEqual(ada);

    expect(server.requests[1]?.body).toEqual({ challenge: challenge.challenge, code: "123456" });
    expect(auth.user).toEqual(ada);
  });

  it("forgets the user when a call says the session is gone", async () => {
    const server = fakeServer({ "POST /api/login": () => json(ada), "GET /api/me/sessions": () => errorAnswer(401, "unauthorized") });
    const auth = createClient({ fetch: server.fetch });
    await auth.login({ username: "ada", password: "pw" });

    await expect(auth.api.GET("/api/me/sessions")).rejects.toBeInstanceOf(LatchkeyError);
    expect(auth.user).toBeNull();
  });

  it("fills path and query parameters, leaving out absent cursors", async () => {
    const server = fakeServer({
      "GET /api/users": () => json({ users: [], next: null }),
      "PUT /api/users/7/roles": () => json(ada),
    });
    const auth = createClient({ fetch: server.fetch });

    await auth.api.GET("/api/users", { params: { query: { limit: 50 } } });
    await auth.api.GET("/api/users", { params: { query: { limit: 50, after: 17 } } });
    await auth.api.PUT("/api/users/{id}/roles", { params: { path: { id: 7 } }, body: { roles: ["user"] } });

    expect(server.requests.map((r) => r.path)).toEqual(["/api/users?limit=50", "/api/users?limit=50&after=17", "/api/users/7/roles"]);
  });

  it("sends a Blob as the raw body with its own type", async () => {
    const server = fakeServer({ "PUT /api/me/avatar": () => noContent() });
    const auth = createClient({ fetch: server.fetch });
    const file = new Blob([new Uint8Array([0x89, 0x50])], { type: "image/png" });

    await expect(auth.api.PUT("/api/me/avatar", { body: file })).resolves.toBeUndefined();
    expect(server.requests[0]?.body).toBe(file);
    expect(server.requests[0]?.headers["content-type"]).toBe("image/png");
  });

  it("builds a provider's login URL and lists providers from the features", async () => {
    const server = fakeServer({
      "GET /api/features": () =>
        json({ signup: true, email: false, require_verified_email: false, passkeys: false, passkey_rp_id: null, providers: [{ id: "github", label: "GitHub" }] }),
    });
    const auth = createClient({ baseUrl: "https://auth.example.com", fetch: server.fetch });

    await expect(auth.providers()).resolves.toEqual([{ id: "github", label: "GitHub" }]);
    expect(auth.providerLoginUrl("github", { next: "/account?tab=2" })).toBe(
      "https://auth.example.com/api/federation/github/start?return_to=%2Faccount%3Ftab%3D2",
    );
    expect(auth.providerLoginUrl("my idp")).toBe("https://auth.example.com/api/federation/my%20idp/start");
  });

  it("uses the global fetch as it is at the time of each call", async () => {
    const auth = createClient();
    const original = globalThis.fetch;
    globalThis.fetch = fakeServer({ "GET /api/check_session": () => noContent() }).fetch;
    try {
      await expect(auth.getSession()).resolves.toBeNull();
    } finally {
      globalThis.fetch = original;
    }
    expect(isLatchkeyError(new Error("x"))).toBe(false);
  });
});
