import { describe, expect, it, vi } from "vitest";
import { createClient, isLatchkeyError, type LatchkeyClient } from "../src/index";
import { ada, errorAnswer, FakeHub, FakeLocks, fakeServer, json, MemoryStorage, noContent, settle, tokenPair, type Handler } from "./fakes";

/** A refresh endpoint that rotates: each refresh token works once, like latchkey's without the reuse grace. */
function rotatingServer(first = 1, extra: Record<string, Handler> = {}) {
  let current = `refresh-${first}`;
  let issued = first;
  return fakeServer({
    "POST /api/token/refresh": async (request) => {
      await settle(2);
      const presented = (request.body as { refresh_token: string }).refresh_token;
      if (presented !== current) return errorAnswer(401, "invalid_token");
      issued += 1;
      current = `refresh-${issued}`;
      return json(tokenPair(issued));
    },
    "POST /api/token/revoke": () => noContent(),
    ...extra,
  });
}

/** The refresh token as the client stores it (beside the time its access token stays fresh). */
function storedRefreshToken(storage: MemoryStorage): string | null {
  const text = storage.getItem("latchkey:refresh_token");
  // A bare token is what the tests start from; the client writes JSON.
  return text === null || !text.startsWith("{") ? text : (JSON.parse(text) as { refresh_token: string }).refresh_token;
}

function tabs(count: number, fetch: typeof globalThis.fetch, options: { locks?: boolean; delayMs?: number } = {}) {
  const storage = new MemoryStorage();
  storage.setItem("latchkey:refresh_token", "refresh-1");
  const locks = options.locks === false ? null : new FakeLocks();
  const hub = new FakeHub(options.delayMs);
  const open = () => createClient({ mode: "token", baseUrl: "http://latchkey.test", fetch, storage, locks, channel: hub.open() });
  const clients: LatchkeyClient[] = Array.from({ length: count }, open);
  return { clients, storage, hub, open };
}

describe("token mode refresh", () => {
  it("sends one refresh for many tabs asking at once, and every tab gets the new access token", async () => {
    const server = rotatingServer();
    const { clients, storage } = tabs(5, server.fetch);

    const tokens = await Promise.all(clients.flatMap((client) => [client.accessToken(), client.accessToken()]));

    expect(server.requests.filter((r) => r.path === "/api/token/refresh")).toHaveLength(1);
    expect(new Set(tokens)).toEqual(new Set(["access-2"]));
    expect(storedRefreshToken(storage)).toBe("refresh-2");
    expect(clients.map((client) => client.user)).toEqual(clients.map(() => ada));
  });

  it("sends none from a tab that starts after another stored the new refresh token but before its tokens arrive", async () => {
    const server = rotatingServer();
    const { clients, storage } = tabs(2, server.fetch, { delayMs: 30 });
    const [first, late] = clients as [LatchkeyClient, LatchkeyClient];
    await Promise.all([first.accessToken(), late.accessToken()]);
    expect(server.requests).toHaveLength(1);

    // Both tokens age out; the first tab renews, and the late one asks just after the new refresh token is stored.
    vi.useFakeTimers({ now: Date.now() + 900_000, toFake: ["Date"] });
    const renewed = first.accessToken();
    while (storedRefreshToken(storage) === "refresh-2") await settle(1);
    const lateToken = await late.accessToken();
    vi.useRealTimers();

    expect(await renewed).toBe("access-3");
    expect(lateToken).toBe("access-3");
    expect(server.requests).toHaveLength(2);
  });

  it("lets a newly opened tab refresh at once with the stored refresh token, and the others follow", async () => {
    const server = rotatingServer();
    const { clients, open } = tabs(1, server.fetch);
    const [first] = clients as [LatchkeyClient];
    await first.accessToken();

    const opened = open();
    await expect(opened.getSession()).resolves.toEqual(ada);
    await expect(opened.accessToken()).resolves.toBe("access-3");
    await settle();
    await expect(first.accessToken()).resolves.toBe("access-3");
    expect(server.requests.map((r) => (r.body as { refresh_token: string }).refresh_token)).toEqual(["refresh-1", "refresh-2"]);
  });

  it("refreshes with the newest refresh token when the tab that spent the old one never tells", async () => {
    const server = rotatingServer();
    const storage = new MemoryStorage();
    storage.setItem("latchkey:refresh_token", "refresh-1");
    const locks = new FakeLocks();
    // Two tabs with no channel between them: the second sees the stored token change but hears nothing.
    const [first, second] = [0, 1].map(() =>
      createClient({ mode: "token", baseUrl: "", fetch: server.fetch, storage, locks, channel: null }),
    ) as [LatchkeyClient, LatchkeyClient];

    vi.useFakeTimers();
    const both = Promise.all([first.accessToken(), second.accessToken()]);
    await vi.advanceTimersByTimeAsync(5000);
    const [a, b] = await both;
    vi.useRealTimers();

    expect(a).toBe("access-2");
    expect(b).toBe("access-3");
    expect(server.requests.map((r) => (r.body as { refresh_token: string }).refresh_token)).toEqual(["refresh-1", "refresh-2"]);
  });

  it("without Web Locks still sends one refresh per tab for concurrent calls", async () => {
    const server = rotatingServer();
    const { clients } = tabs(1, server.fetch, { locks: false });
    const [client] = clients as [LatchkeyClient];

    const tokens = await Promise.all([client.accessToken(), client.accessToken(), client.accessToken()]);

    expect(tokens).toEqual(["access-2", "access-2", "access-2"]);
    expect(server.requests).toHaveLength(1);
  });

  it("keeps using a fresh access token without asking the server", async () => {
    const server = rotatingServer();
    const { clients } = tabs(1, server.fetch);
    const [client] = clients as [LatchkeyClient];
    await client.accessToken();
    await client.accessToken();
    expect(server.requests).toHaveLength(1);
  });

  it("gives null and forgets the user when the stored refresh token is refused", async () => {
    const server = fakeServer({ "POST /api/token/refresh": () => errorAnswer(401, "invalid_token") });
    const { clients, storage } = tabs(1, server.fetch);
    const [client] = clients as [LatchkeyClient];

    await expect(client.accessToken()).resolves.toBeNull();
    await expect(client.getSession()).resolves.toBeNull();
    expect(storedRefreshToken(storage)).toBeNull();
  });

  it("keeps the refresh token when the server cannot be reached", async () => {
    const server = fakeServer({
      "POST /api/token/refresh": () => {
        throw new TypeError("Failed to fetch");
      },
    });
    const { clients, storage } = tabs(1, server.fetch);
    const error = await (clients[0] as LatchkeyClient).accessToken().catch((e: unknown) => e);
    expect(isLatchkeyError(error, "network_error")).toBe(true);
    expect(storedRefreshToken(storage)).toBe("refresh-1");
  });
});

describe("token mode requests", () => {
  it("sends the access token as Bearer and refreshes once, then retries, on 401 token_expired", async () => {
    let meCalls = 0;
    const server = rotatingServer(1, {
      "GET /api/me": (request) => {
        meCalls += 1;
        return request.headers.authorization === "Bearer access-3" ? json(ada) : errorAnswer(401, "token_expired");
      },
    });
    const { clients } = tabs(1, server.fetch);
    const [client] = clients as [LatchkeyClient];

    await expect(client.api.GET("/api/me")).resolves.toEqual(ada);

    expect(meCalls).toBe(2);
    expect(server.requests.map((r) => `${r.method} ${r.path} ${r.headers.authorization ?? ""}`)).toEqual([
      "POST /api/token/refresh ",
      "GET /api/me Bearer access-2",
      "POST /api/token/refresh ",
      "GET /api/me Bearer access-3",
    ]);
  });

  it("does not retry other 401 answers", async () => {
    const server = rotatingServer(1, { "GET /api/me": () => errorAnswer(401, "invalid_token") });
    const { clients } = tabs(1, server.fetch);
    const error = await (clients[0] as LatchkeyClient).api.GET("/api/me").catch((e: unknown) => e);
    expect(isLatchkeyError(error, "invalid_token")).toBe(true);
    expect(server.requests.filter((r) => r.path === "/api/me")).toHaveLength(1);
  });

  it("logs in with POST /api/token, keeps the refresh token and tells the other tabs", async () => {
    const server = fakeServer({ "POST /api/token": () => json(tokenPair(10)) });
    const { clients, storage } = tabs(2, server.fetch);
    const [here, there] = clients as [LatchkeyClient, LatchkeyClient];
    const seen: unknown[] = [];
    there.onChange((user) => seen.push(user));

    await expect(here.login({ username: "ada", password: "pw" })).resolves.toEqual({ status: "done", user: ada });
    await settle();

    expect(storedRefreshToken(storage)).toBe("refresh-10");
    expect(seen).toEqual([ada]);
    await expect(there.accessToken()).resolves.toBe("access-10");
    expect(server.requests).toHaveLength(1);
  });

  it("logs out every tab and revokes the refresh token", async () => {
    const server = rotatingServer();
    const { clients, storage } = tabs(2, server.fetch);
    const [here, there] = clients as [LatchkeyClient, LatchkeyClient];
    await Promise.all([here.getSession(), there.getSession()]);
    expect(there.user).toEqual(ada);

    await here.logout();
    await settle();

    expect(there.user).toBeNull();
    expect(storedRefreshToken(storage)).toBeNull();
    expect(server.requests.at(-1)).toMatchObject({ method: "POST", path: "/api/token/revoke", body: { refresh_token: "refresh-2" } });
    await expect(there.accessToken()).resolves.toBeNull();
  });
});
