// Token mode's memory: the access token lives only in this tab's memory, the
// refresh token in shared storage, and a refresh is done by one tab for all.
//
// Refresh tokens are single use, so two tabs refreshing with the same one
// would look like theft to the server. Every refresh therefore runs under one
// Web Lock per storage key. Inside it a tab first looks whether another tab
// has rotated the refresh token since this tab's own tokens were issued (the
// stored one differs, and the access token issued with it is still fresh);
// then that tab holds good tokens, and they are asked for and handed over on
// the BroadcastChannel instead of refreshing again. Only a tab that finds no
// fresh tokens anywhere asks the server.

import { isLatchkeyError } from "./errors.js";
import type { TokenPair, User } from "./types.js";
import type { ChannelLike, LockManagerLike, StorageLike } from "./tabs.js";

/** The tokens one tab holds and hands to the others. */
interface TokenSet {
  access_token: string;
  /** When the access token expires (ms since the epoch). */
  expires_at: number;
  /** When to renew it, a little before `expires_at`. */
  refresh_at: number;
  refresh_token: string;
  user: User;
}

/** What one tab tells the others: new tokens, a logout, or "who holds fresh tokens?". */
export type TabMessage = ({ type: "tokens" } & TokenSet) | { type: "logout" } | { type: "ask" };

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
}

// Refresh a little before expiry so a request sent now does not arrive late.
const MAX_MARGIN_MS = 30_000;
// How long to wait for another tab's tokens: the tab that just rotated the refresh
// token is alive and broadcasting; any other tab answers an "ask" at once, or is gone.
const HAND_OVER_MS = 3_000;
const ANSWER_MS = 500;

export class TokenKeeper {
  private readonly options: TokenKeeperOptions;
  private readonly now: () => number;
  private held: TokenSet | null = null;
  private inFlight: Promise<string | null> | null = null;
  private readonly arrivals = new Set<() => void>();

  constructor(options: TokenKeeperOptions) {
    this.options = options;
    this.now = options.now ?? (() => Date.now());
    options.channel?.addEventListener("message", (event) => this.receive(event.data));
  }

  private key(name: "refresh_token" | "fresh_until"): string {
    return `${this.options.storageKey}:${name}`;
  }

  hasRefreshToken(): boolean {
    return this.options.storage.getItem(this.key("refresh_token")) !== null;
  }

  /** Keeps the tokens of a login or refresh and hands them to the other tabs. */
  accept(pair: TokenPair): string {
    const issued = this.now();
    const lifetime = pair.expires_in * 1000;
    const tokens: TokenSet = {
      access_token: pair.access_token,
      expires_at: issued + lifetime,
      refresh_at: issued + lifetime - Math.min(MAX_MARGIN_MS, lifetime / 4),
      refresh_token: pair.refresh_token,
      user: pair.user,
    };
    this.options.storage.setItem(this.key("refresh_token"), tokens.refresh_token);
    this.options.storage.setItem(this.key("fresh_until"), String(tokens.refresh_at));
    this.hold(tokens);
    this.options.channel?.postMessage({ type: "tokens", ...tokens } satisfies TabMessage);
    return tokens.access_token;
  }

  /**
   * A new access token for the same login (a re-authentication answers one that
   * carries the new authentication time). Kept in this tab only: the refresh
   * token does not change, and other tabs renew on their own.
   */
  adopt(accessToken: string, expiresIn: number): void {
    if (!this.held) return;
    const issued = this.now();
    const lifetime = expiresIn * 1000;
    this.held = {
      ...this.held,
      access_token: accessToken,
      expires_at: issued + lifetime,
      refresh_at: issued + lifetime - Math.min(MAX_MARGIN_MS, lifetime / 4),
    };
  }

  /** The access token, refreshed first when it is missing or about to expire; null when logged out. */
  async accessToken(): Promise<string | null> {
    if (this.fresh()) return this.held?.access_token ?? null;
    return this.refresh(null);
  }

  /**
   * A new access token because the server refused `stale` (401 token_expired).
   * If another refresh already replaced it, that one is used.
   */
  async replace(stale: string): Promise<string | null> {
    if (this.fresh() && this.held?.access_token !== stale) return this.held?.access_token ?? null;
    return this.refresh(stale);
  }

  /** Forgets the tokens here and in every tab; answers the refresh token to revoke, if any. */
  logout(): string | null {
    const refreshToken = this.options.storage.getItem(this.key("refresh_token"));
    this.options.storage.removeItem(this.key("refresh_token"));
    this.options.storage.removeItem(this.key("fresh_until"));
    this.forget();
    this.options.channel?.postMessage({ type: "logout" } satisfies TabMessage);
    return refreshToken;
  }

  close(): void {
    this.options.channel?.close();
  }

  private fresh(stale: string | null = null): boolean {
    return this.held !== null && this.now() < this.held.refresh_at && this.held.access_token !== stale;
  }

  /** One refresh per tab at a time; across tabs, see the module comment. */
  private refresh(stale: string | null): Promise<string | null> {
    this.inFlight ??= (this.options.locks
      ? this.options.locks.request(`${this.options.storageKey}:refresh`, () => this.refreshOnce(stale))
      : this.refreshOnce(stale)
    ).finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private async refreshOnce(stale: string | null): Promise<string | null> {
    // Tokens another tab handed over while this one waited for the lock.
    if (this.fresh(stale)) return this.held?.access_token ?? null;
    const current = this.options.storage.getItem(this.key("refresh_token"));
    if (current === null) {
      if (this.held) this.forget();
      return null;
    }
    if (current !== this.held?.refresh_token && this.freshElsewhere() && (await this.handedOver(stale))) {
      return this.held?.access_token ?? null;
    }
    let pair: TokenPair;
    try {
      pair = await this.options.refresh(current);
    } catch (error) {
      // A refresh token the server refuses is dead for every tab: they all share it.
      if (isLatchkeyError(error) && error.status === 401) {
        if (this.options.storage.getItem(this.key("refresh_token")) === current) this.logout();
        return null;
      }
      throw error;
    }
    return this.accept(pair);
  }

  /** Whether the access token issued with the stored refresh token is still fresh, in whichever tab holds it. */
  private freshElsewhere(): boolean {
    return this.options.channel !== null && Number(this.options.storage.getItem(this.key("fresh_until"))) > this.now();
  }

  /** Asks the other tabs for their tokens and waits for fresh ones; false if none come. */
  private handedOver(stale: string | null): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (arrived: boolean) => {
        clearTimeout(timer);
        this.arrivals.delete(onArrival);
        resolve(arrived);
      };
      const onArrival = () => {
        if (this.fresh(stale) || !this.hasRefreshToken()) done(true);
      };
      // A tab with no tokens yet (just opened) waits only for an answer; one whose
      // tokens were rotated elsewhere also for the broadcast already on its way.
      const timer = setTimeout(() => done(false), this.held ? HAND_OVER_MS : ANSWER_MS);
      this.arrivals.add(onArrival);
      this.options.channel?.postMessage({ type: "ask" } satisfies TabMessage);
    });
  }

  private receive(data: unknown): void {
    if (!data || typeof data !== "object") return;
    const message = data as TabMessage;
    if (message.type === "tokens" && typeof message.access_token === "string") this.hold(message);
    else if (message.type === "logout") this.forget();
    else if (message.type === "ask") this.answer();
  }

  /** Hands this tab's tokens to a tab that asked, if they are the current ones and fresh. */
  private answer(): void {
    const held = this.held;
    if (!held || !this.fresh() || held.refresh_token !== this.options.storage.getItem(this.key("refresh_token"))) return;
    this.options.channel?.postMessage({ type: "tokens", ...held } satisfies TabMessage);
  }

  private hold(tokens: TokenSet): void {
    const { access_token, expires_at, refresh_at, refresh_token, user } = tokens;
    this.held = { access_token, expires_at, refresh_at, refresh_token, user };
    this.options.onUser(user);
    this.arrived();
  }

  private forget(): void {
    this.held = null;
    this.options.onUser(null);
    this.arrived();
  }

  private arrived(): void {
    for (const arrival of [...this.arrivals]) arrival();
  }
}
