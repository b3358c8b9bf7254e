// Token mode's memory: the access token lives only in this tab's memory, the
// refresh token in shared storage, and a refresh is done by one tab for all.
//
// Refresh tokens are single use, so two tabs refreshing with the same one
// would look like theft to the server. Every refresh therefore runs under one
// Web Lock per storage key. Inside it a tab first looks whether another tab
// has refreshed meanwhile (the stored refresh token changed, and the new
// tokens arrive on the BroadcastChannel) and takes those; only the tab that
// still holds the current refresh token asks the server.

import { isLatchkeyError } from "./errors.js";
import type { TokenPair, User } from "./types.js";
import type { ChannelLike, LockManagerLike, StorageLike } from "./tabs.js";

/** What one tab tells the others. */
export type TabMessage =
  | { type: "tokens"; access_token: string; expires_at: number; refresh_at: number; refresh_token: string; user: User }
  | { type: "logout" };

export interface TokenKeeperOptions {
  storageKey: string;
  storage: StorageLike;
  locks: LockManagerLike | null;
  channel: ChannelLike | null;
  /** `POST /api/token/refresh`; rejects with a LatchkeyError. */
  refresh: (refreshToken: string) => Promise<TokenPair>;
  /** Told whenever the logged-in user changes, in this tab or another. */
  onUser: (user: User | null) => void;
  now?: () => number;
  /** How long a tab that lost the race waits for the winner's tokens before refreshing itself. */
  handOverTimeoutMs?: number;
}

// Refresh a little before expiry so a request sent now does not arrive late.
const MAX_MARGIN_MS = 30_000;

export class TokenKeeper {
  private readonly options: TokenKeeperOptions;
  private readonly now: () => number;
  private access: { token: string; refreshAt: number } | null = null;
  private inFlight: Promise<string | null> | null = null;
  /** Counts token sets and logouts seen, so a tab can tell that something happened while it waited. */
  private generation = 0;
  private readonly arrivals = new Set<() => void>();

  constructor(options: TokenKeeperOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    options.channel?.addEventListener("message", (event) => this.receive(event.data));
  }

  private get refreshKey(): string {
    return `${this.options.storageKey}:refresh_token`;
  }

  private get lockName(): string {
    return `${this.options.storageKey}:refresh`;
  }

  hasRefreshToken(): boolean {
    return this.options.storage.getItem(this.refreshKey) !== null;
  }

  /** Keeps the tokens of a login or refresh and hands them to the other tabs. */
  accept(pair: TokenPair): string {
    const issued = this.now();
    const lifetime = pair.expires_in * 1000;
    const message: TabMessage = {
      type: "tokens",
      access_token: pair.access_token,
      expires_at: issued + lifetime,
      refresh_at: issued + lifetime - Math.min(MAX_MARGIN_MS, lifetime / 4),
      refresh_token: pair.refresh_token,
      user: pair.user,
    };
    this.options.storage.setItem(this.refreshKey, pair.refresh_token);
    this.apply(message);
    this.options.channel?.postMessage(message);
    return pair.access_token;
  }

  /**
   * A new access token for the same login (a re-authentication answers one that
   * carries the new authentication time). Kept in this tab only: the refresh
   * token does not change, and other tabs renew on their own.
   */
  adopt(accessToken: string, expiresIn: number): void {
    const issued = this.now();
    const lifetime = expiresIn * 1000;
    this.access = { token: accessToken, refreshAt: issued + lifetime - Math.min(MAX_MARGIN_MS, lifetime / 4) };
  }

  /** The access token, refreshed first when it is missing or about to expire; null when logged out. */
  async accessToken(): Promise<string | null> {
    if (this.access && this.now() < this.access.refreshAt) return this.access.token;
    return this.refresh();
  }

  /**
   * A new access token because the server refused `stale` (401 token_expired).
   * If another refresh already replaced it, that one is used.
   */
  async replace(stale: string): Promise<string | null> {
    if (this.access && this.access.token !== stale && this.now() < this.access.refreshAt) return this.access.token;
    return this.refresh();
  }

  /** One refresh per tab at a time; across tabs, see the module comment. */
  refresh(): Promise<string | null> {
    this.inFlight ??= this.refreshAcrossTabs().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  /** Forgets the tokens here and in every tab; resolves with the refresh token to revoke, if any. */
  logout(): string | null {
    const refreshToken = this.options.storage.getItem(this.refreshKey);
    this.options.storage.removeItem(this.refreshKey);
    const message: TabMessage = { type: "logout" };
    this.apply(message);
    this.options.channel?.postMessage(message);
    return refreshToken;
  }

  close(): void {
    this.options.channel?.close();
  }

  private async refreshAcrossTabs(): Promise<string | null> {
    const known = this.options.storage.getItem(this.refreshKey);
    if (known === null) {
      if (this.access) this.apply({ type: "logout" });
      return null;
    }
    const generation = this.generation;
    const run = () => this.refreshOnce(known, generation);
    return this.options.locks ? this.options.locks.request(this.lockName, run) : run();
  }

  private async refreshOnce(known: string, generation: number): Promise<string | null> {
    if (this.generation !== generation && this.access && this.now() < this.access.refreshAt) return this.access.token;
    const current = this.options.storage.getItem(this.refreshKey);
    if (current === null) {
      if (this.access) this.apply({ type: "logout" });
      return null;
    }
    if (current !== known && (await this.handedOver(generation))) {
      return this.access ? this.access.token : null;
    }
    let pair: TokenPair;
    try {
      pair = await this.options.refresh(current);
    } catch (error) {
      // A refresh token the server refuses is dead for every tab: they all share it.
      if (isLatchkeyError(error) && error.status === 401) {
        if (this.options.storage.getItem(this.refreshKey) === current) this.logout();
        return null;
      }
      throw error;
    }
    return this.accept(pair);
  }

  /** Waits for the tokens another tab got with the refresh token it spent; false if they never come. */
  private handedOver(generation: number): Promise<boolean> {
    if (this.generation !== generation) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (arrived: boolean) => {
        clearTimeout(timer);
        this.arrivals.delete(onArrival);
        resolve(arrived);
      };
      const onArrival = () => done(true);
      const timer = setTimeout(() => done(false), this.options.handOverTimeoutMs ?? 3000);
      this.arrivals.add(onArrival);
    });
  }

  private receive(data: unknown): void {
    if (!data || typeof data !== "object") return;
    const message = data as TabMessage;
    if (message.type === "tokens" && typeof message.access_token === "string") this.apply(message);
    else if (message.type === "logout") this.apply(message);
  }

  private apply(message: TabMessage): void {
    this.generation += 1;
    if (message.type === "tokens") {
      this.access = { token: message.access_token, refreshAt: message.refresh_at };
      this.options.onUser(message.user);
    } else {
      this.access = null;
      this.options.onUser(null);
    }
    for (const arrival of [...this.arrivals]) arrival();
  }
}
