// Token mode's default storage, IndexedDB: several "tabs" (client instances) share one
// database, one lock manager and one broadcast hub. What makes the tabs agree on who
// refreshes is that the stored refresh token is read, and its successor written,
// while the Web Lock is held; these tests watch every transaction to check that.

import { IDBDatabase as FakeIDBDatabase, IDBFactory as FakeIDBFactory } from "fake-indexeddb";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createClient, type LatchkeyClient } from "../src/index";
import type { LockManagerLike } from "../src/tabs";
import { ada, errorAnswer, FakeHub, FakeLocks, fakeServer, json, noContent, settle, tokenPair } from "./fakes";

// Where the client keeps the record, as its README says: database `${storageKey}:refresh_token`,
// object store "tokens", key "refresh_token".
const DATABASE = "latchkey:refresh_token";

interface Record {
  refresh_token: string;
  fresh_until: number;
}

/** One step in the order things happened, to check what ran under the lock. */
type Step = { kind: "read" | "write"; hold: number | null } | { kind: "refresh"; hold: number | null; token: string };

/** `FakeLocks` that also tells which grant of the lock, if any, is running now. */
class TracingLocks implements LockManagerLike {
  private readonly inner = new FakeLocks();
  private grants = 0;
  holding: number | null = null;

  request<T>(name: string, callback: () => Promise<T>): Promise<T> {
    return this.inner.request(name, async () => {
      this.grants += 1;
      this.holding = this.grants;
      try {
        return await callback();
      } finally {
        this.holding = null;
      }
    });
  }
}

function browser(options: { delayMs?: number } = {}) {
  const factory = new FakeIDBFactory();
  const locks = new TracingLocks();
  const hub = new FakeHub(options.delayMs);
  const steps: Step[] = [];
  let current = "refresh-1";
  let issued = 1;
  // Rotates like latchkey with no reuse grace: each refresh token works once.
  const server = fakeServer({
    "POST /api/token": () => json(tokenPair(1)),
    "POST /api/token/refresh": async (request) => {
      const presented = (request.body as { refresh_token: string }).refresh_token;
      steps.push({ kind: "refresh", hold: locks.holding, token: presented });
      await settle(2);
      if (presented !== current) return errorAnswer(401, "invalid_token");
      issued += 1;
      current = `refresh-${issued}`;
      return json(tokenPair(issued));
    },
    "POST /api/token/revoke": () => noContent(),
  });
  const original = FakeIDBDatabase.prototype.transaction;
  vi.spyOn(FakeIDBDatabase.prototype, "transaction").mockImplementation(function (this: IDBDatabase, ...args) {
    steps.push({ kind: args[1] === "readwrite" ? "write" : "read", hold: locks.holding });
    return original.apply(this, args);
  });
  const open = (channel = true): LatchkeyClient =>
    createClient({
      mode: "token",
      baseUrl: "http://latchkey.test",
      fetch: server.fetch,
      storage: factory,
      locks,
      channel: channel ? hub.open() : null,
    });
  return { factory, locks, steps, server, open, refreshes: () => steps.filter((step) => step.kind === "refresh") };
}

/** The record as another tab would find it, read with IndexedDB itself. */
function storedRecord(factory: IDBFactory): Promise<Record | null> {
  return new Promise((resolve, reject) => {
    const request = factory.open(DATABASE);
    request.onerror = () => reject(request.error);
    request.onsuccess = () => {
      const db = request.result;
      const get = db.transaction("tokens", "readonly").objectStore("tokens").get("refresh_token");
      get.onsuccess = () => {
        db.close();
        resolve((get.result as Record | undefined) ?? null);
      };
      get.onerror = () => reject(get.error);
    };
  });
}

/** Every refresh was sent under the lock, after a read of the stored token in that same grant; every write was under the lock. */
function expectReadUnderTheLock(steps: Step[]): void {
  steps.forEach((step, index) => {
    if (step.kind === "write") expect(step.hold, "a write of the stored refresh token outside the lock").not.toBeNull();
    if (step.kind !== "refresh") return;
    expect(step.hold, `the refresh with ${step.token} was sent outside the lock`).not.toBeNull();
    const readFirst = steps.slice(0, index).some((earlier) => earlier.kind === "read" && earlier.hold === step.hold);
    expect(readFirst, `the refresh with ${step.token} was sent without reading the stored token under the lock`).toBe(true);
  });
}

/** Tabs of one browser where one of them has logged in (refresh-1) and the others took its tokens. */
async function loggedIn(count: number, options: { delayMs?: number } = {}) {
  const world = browser(options);
  const tabs = Array.from({ length: count }, () => world.open());
  await tabs[0]!.login({ username: "ada", password: "pw" });
  await settle(options.delayMs ? options.delayMs + 5 : 5);
  return { ...world, tabs };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("token mode with IndexedDB", () => {
  it("keeps the login's refresh token in IndexedDB, committed before login resolves", async () => {
    const { factory, tabs } = await loggedIn(1);
    expect(tabs[0]!.user).toEqual(ada);
    await expect(storedRecord(factory)).resolves.toMatchObject({ refresh_token: "refresh-1", fresh_until: expect.any(Number) });
    expect(localStorage.length).toBe(0);
  });

  it("sends ONE refresh when many tabs ask at once, even when the broadcast arrives after the lock is let go", async () => {
    // 40 ms per broadcast: the tabs after the first one find the token rotated in IndexedDB before they hear of it.
    const { factory, steps, tabs, refreshes } = await loggedIn(5, { delayMs: 40 });
    vi.useFakeTimers({ now: Date.now() + 900_000, toFake: ["Date"] });

    const tokens = await Promise.all(tabs.flatMap((tab) => [tab.accessToken(), tab.accessToken()]));

    expect(refreshes()).toEqual([{ kind: "refresh", hold: expect.any(Number), token: "refresh-1" }]);
    expect(new Set(tokens)).toEqual(new Set(["access-2"]));
    await expect(storedRecord(factory)).resolves.toMatchObject({ refresh_token: "refresh-2" });
    expectReadUnderTheLock(steps);
  });

  it("never sends a spent refresh token from a tab whose memory is stale, and reads the stored one under the lock", async () => {
    const world = browser();
    // No channel: the second tab is never told that the first one refreshed.
    const first = world.open(false);
    const stale = world.open(false);
    await first.login({ username: "ada", password: "pw" });
    await expect(stale.accessToken()).resolves.toBe("access-2");
    vi.useFakeTimers({ now: Date.now() + 900_000, toFake: ["Date"] });

    // Each tab in turn holds a refresh token the other one has spent: the first still holds
    // refresh-1, then the second still holds refresh-2.
    await expect(first.accessToken()).resolves.toBe("access-3");
    await expect(stale.accessToken()).resolves.toBe("access-4");

    expect(world.refreshes().map((step) => step.kind === "refresh" && step.token)).toEqual(["refresh-1", "refresh-2", "refresh-3"]);
    expect(stale.user).toEqual(ada);
    expectReadUnderTheLock(world.steps);
  });

  it("refreshes in a tab opened after the login with the token the login stored", async () => {
    const { factory, open, tabs, refreshes } = await loggedIn(1);
    const opened = open();

    await expect(opened.getSession()).resolves.toEqual(ada);

    expect(refreshes().map((step) => step.kind === "refresh" && step.token)).toEqual(["refresh-1"]);
    await expect(storedRecord(factory)).resolves.toMatchObject({ refresh_token: "refresh-2" });
    await settle();
    await expect(tabs[0]!.accessToken()).resolves.toBe("access-2");
  });

  it("logs every tab out, revokes the stored refresh token and deletes it", async () => {
    const { factory, server, steps, tabs } = await loggedIn(3);

    await tabs[2]!.logout();
    await settle();

    expect(tabs.map((tab) => tab.user)).toEqual([null, null, null]);
    await expect(storedRecord(factory)).resolves.toBeNull();
    expect(server.requests.at(-1)).toMatchObject({ path: "/api/token/revoke", body: { refresh_token: "refresh-1" } });
    await expect(tabs[0]!.accessToken()).resolves.toBeNull();
    expectReadUnderTheLock(steps);
  });

  it("keeps a login in this tab's memory when IndexedDB cannot be opened", async () => {
    const refused = {
      open: () => {
        throw new DOMException("denied", "SecurityError");
      },
    } as unknown as IDBFactory;
    const server = fakeServer({ "POST /api/token": () => json(tokenPair(1)) });
    const client = createClient({ mode: "token", fetch: server.fetch, storage: refused, locks: null, channel: null });

    await expect(client.login({ username: "ada", password: "pw" })).resolves.toEqual({ status: "done", user: ada });
    await expect(client.accessToken()).resolves.toBe("access-1");
  });
});

describe("token mode's default storage", () => {
  it("is the browser's IndexedDB", async () => {
    const factory = new FakeIDBFactory();
    vi.stubGlobal("indexedDB", factory);
    try {
      const server = fakeServer({ "POST /api/token": () => json(tokenPair(1)) });
      await createClient({ mode: "token", fetch: server.fetch, locks: null, channel: null }).login({ username: "ada", password: "pw" });
      await expect(storedRecord(factory)).resolves.toMatchObject({ refresh_token: "refresh-1" });
      expect(localStorage.length).toBe(0);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it("is localStorage where IndexedDB is missing", async () => {
    expect(globalThis.indexedDB).toBeUndefined();
    const server = fakeServer({ "POST /api/token": () => json(tokenPair(1)) });
    try {
      await createClient({ mode: "token", fetch: server.fetch, locks: null, channel: null }).login({ username: "ada", password: "pw" });
      expect(JSON.parse(localStorage.getItem("latchkey:refresh_token") ?? "null")).toMatchObject({ refresh_token: "refresh-1" });
    } finally {
      localStorage.clear();
    }
  });
});
