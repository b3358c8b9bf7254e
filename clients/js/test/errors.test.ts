import { describe, expect, it } from "vitest";
import { createClient, isLatchkeyError, LatchkeyError, parseRetryAfter } from "../src/index";
import { errorAnswer, fakeServer, json } from "./fakes";

async function failure(promise: Promise<unknown>): Promise<LatchkeyError> {
  const error = await promise.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LatchkeyError);
  return error as LatchkeyError;
}

function clientAnswering(response: () => Response) {
  return createClient({ fetch: fakeServer({ "POST /api/signup": response }).fetch });
}

const signup = { username: "ada", password: "correct horse" };

describe("LatchkeyError", () => {
  it("keeps status, code, the server's message and field messages", async () => {
    const auth = clientAnswering(() => errorAnswer(422, "validation_failed", { fields: { password: "must be at least 8 characters", n: 3 } }));
    const error = await failure(auth.signup(signup));
    expect(error).toMatchObject({
      status: 422,
      code: "validation_failed",
      message: "server says validation_failed",
      fields: { password: "must be at least 8 characters" },
    });
    expect(error.body).toMatchObject({ error: "validation_failed" });
    expect(isLatchkeyError(error, "validation_failed")).toBe(true);
    expect(isLatchkeyError(error, "rate_limited")).toBe(false);
  });

  it("reads Retry-After as seconds or as an HTTP date", async () => {
    const auth = clientAnswering(() => errorAnswer(429, "rate_limited", {}, { "Retry-After": "42" }));
    expect((await failure(auth.signup(signup))).retryAfter).toBe(42);
    const now = Date.parse("2026-12-06T12:00:00Z");
    expect(parseRetryAfter("Sun, 06 Dec 2026 12:01:30 GMT", now)).toBe(90);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it("falls back on the status when the body is not latchkey's", async () => {
    const auth = clientAnswering(() => new Response("<html>Bad gateway</html>", { status: 502 }));
    expect(await failure(auth.signup(signup))).toMatchObject({ status: 502, code: "internal" });
    const busy = clientAnswering(() => new Response("", { status: 503 }));
    expect(await failure(busy.signup(signup))).toMatchObject({ status: 503, code: "unavailable" });
  });

  it("is network_error when the server cannot be reached and bad_response for unreadable success", async () => {
    const down = createClient({
      fetch: async () => {
        throw new TypeError("Failed to fetch");
      },
    });
    expect(await failure(down.getSession())).toMatchObject({ status: 0, code: "network_error" });
    const garbled = createClient({ fetch: async () => new Response("{not json", { status: 200 }) });
    expect(await failure(garbled.getSession())).toMatchObject({ status: 200, code: "bad_response" });
  });

  it("rethrows an abort as it is", async () => {
    const controller = new AbortController();
    const auth = createClient({
      fetch: async () => {
        throw new DOMException("aborted", "AbortError");
      },
    });
    controller.abort();
    const error = await auth.api.GET("/api/me", { signal: controller.signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe("AbortError");
  });

  it("lifts a passkey second step's options out of the challenge", async () => {
    const auth = createClient({
      fetch: fakeServer({
        "POST /api/login": () =>
          errorAnswer(401, "second_factor_required", {
            challenge: "c",
            methods: ["webauthn", 5],
            webauthn: { publicKey: { challenge: "AQID", allowCredentials: [] } },
          }),
      }).fetch,
    });
    const result = await auth.login({ username: "ada", password: "pw" });
    expect(result).toEqual({
      status: "second_factor",
      challenge: {
        challenge: "c",
        methods: ["webauthn"],
        webauthn: { publicKey: { challenge: "AQID", allowCredentials: [] } },
        expires_in: undefined,
      },
    });
  });

  it("is what a typed call rejects with, for any other failure of login", async () => {
    const auth = createClient({ fetch: fakeServer({ "POST /api/login": () => errorAnswer(401, "invalid_credentials") }).fetch });
    expect(await failure(auth.login({ username: "ada", password: "nope" }))).toMatchObject({ code: "invalid_credentials" });
    const ok = createClient({ fetch: fakeServer({ "POST /api/login": () => json({}) }).fetch });
    await expect(ok.login({ username: "a", password: "b" })).resolves.toMatchObject({ status: "done" });
  });
});
