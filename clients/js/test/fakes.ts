// Browsers in miniature: several "tabs" (client instances) share one lock
// manager, one broadcast hub and one storage, as tabs of one origin do.

import type { ChannelLike, LockManagerLike, StorageLike } from "../src/tabs";

/** Grants each named lock to one holder at a time, in request order, like `navigator.locks`. */
export class FakeLocks implements LockManagerLike {
  private readonly tails = new Map<string, Promise<unknown>>();

  request<T>(name: string, callback: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(name) ?? Promise.resolve();
    const run = previous.then(callback, callback);
    this.tails.set(
      name,
      run.catch(() => undefined),
    );
    return run;
  }
}

/** One BroadcastChannel name: a message reaches every other open channel, later, never its sender. */
export class FakeHub {
  private readonly channels = new Set<FakeChannel>();

  /** `delayMs`: how long a message takes to arrive, as it may under load. */
  constructor(private readonly delayMs = 0) {}

  open(): ChannelLike {
    const channel = new FakeChannel(this.channels, this.delayMs);
    this.channels.add(channel);
    return channel;
  }
}

class FakeChannel implements ChannelLike {
  private readonly listeners: ((event: { data: unknown }) => void)[] = [];

  constructor(
    private readonly peers: Set<FakeChannel>,
    private readonly delayMs: number,
  ) {}

  postMessage(message: unknown): void {
    const data = structuredClone(message);
    for (const peer of this.peers) {
      if (peer !== this) setTimeout(() => peer.listeners.forEach((listener) => listener({ data })), this.delayMs);
    }
  }

  addEventListener(_type: "message", listener: (event: { data: unknown }) => void): void {
    this.listeners.push(listener);
  }

  close(): void {
    this.peers.delete(this);
  }
}

export class MemoryStorage implements StorageLike {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
}

export interface Recorded {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
  credentials: RequestCredentials | undefined;
}

export type Handler = (request: Recorded) => Response | Promise<Response>;

/** A `fetch` answering "METHOD /path" from a table; an unexpected request fails the test. */
export function fakeServer(handlers: Record<string, Handler>) {
  const requests: Recorded[] = [];
  const fetch = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(String(input), "http://latchkey.test");
    const method = (init.method ?? "GET").toUpperCase();
    const headers = Object.fromEntries(new Headers(init.headers).entries());
    const body = typeof init.body === "string" ? JSON.parse(init.body) : init.body;
    const recorded = { method, path: url.pathname + url.search, headers, body, credentials: init.credentials };
    requests.push(recorded);
    const handler = handlers[`${method} ${url.pathname}`];
    if (!handler) throw new Error(`unexpected request ${method} ${recorded.path}`);
    return handler(recorded);
  };
  return { fetch: fetch as typeof globalThis.fetch, requests };
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
}

export function noContent(): Response {
  return new Response(null, { status: 204 });
}

export function errorAnswer(status: number, error: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  return json({ error, message: `server says ${error}`, ...extra }, status, headers);
}

export const ada = {
  id: 7,
  username: "ada",
  email: null,
  email_verified: false,
  roles: ["user"],
  created_at: "2026-11-22T12:00:00Z",
};

export function tokenPair(n: number, expiresIn = 900) {
  return { access_token: `access-${n}`, token_type: "Bearer", expires_in: expiresIn, refresh_token: `refresh-${n}`, user: ada };
}

/** Lets queued timers and promise callbacks run. */
export function settle(ms = 5): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
