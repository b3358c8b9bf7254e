// Token mode's memory: the access token lives only in this tab's memory, the
// refresh token in shared storage (see refreshStore.ts), and a refresh is done by
// one tab for all.
//
// Refresh tokens are single use, so two tabs refreshing with the same one
// would look like theft to the server. Every refresh therefore runs under one
// Web Lock per storage key, and the stored refresh token is read, and its
// successor written and committed, while the lock is held. Inside it a tab first
// looks whether another tab has rotated the refresh token since this tab's own
// tokens were issued (or, for a tab with none yet, since it began to wait), and
// whether the access token issued with it is still fresh; then the tab that
// rotated it holds good tokens, and they are handed over on the BroadcastChannel
// instead of refreshing again. Otherwise the tab refreshes with the stored token:
// under the lock, no refresh token is ever spent twice. Logins and logouts write
// under the same lock, so no refresh can overwrite them with an older login.

import { isLatchkeyError } from "./errors.js";
import type { RefreshStore } from "./refreshStore.js";
import type { TokenPair, User } from "./types.js";
import type { ChannelLike, LockManagerLike } from "./tabs.js";

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
  store: RefreshStore;
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
// token broadcasts them, and any tab holding them answers an "ask".
const HAND_OVER_MS = 3_000;

export class TokenKeeper {
  private readonly options: TokenKeeperOptions;
  private readonly now: () => number;
  private held: TokenSet | null = null;
  private inFlight: Promise<string | null> | null = null;
  private readonly arrivals = new Set<(loggedOut: boolean) => void>();

  constructor(options: TokenKeeperOptions) {
    this.options = options;
    this.now = options.now ?? (() => Date.now());
    options.channel?.addEventListener("message", (event) => this.receive(event.data));
  }

  private get store(): RefreshStore {
    return this.options.store;
  }

  /** Runs `work` under the Web Lock that orders every write of the stored refresh token. */
  private locked<T>(work: () => Promise<T>): Promise<T> {
    const { locks, storageKey } = this.options;
    return locks ? locks.request(`${storageKey}:refresh`, work) : work();
  }

  /** Keeps the tokens of a login and hands them to the other tabs. */
  accept(pair: TokenPair): Promise<string> {
    return this.locked(() => this.keep(pair));
  }

  /** Stores the refresh token (committed before the lock is let go), then holds and broadcasts the tokens. */
  private async keep(pair: TokenPair): Promise<string> {
    const issued = this.now();
    const lifetime = pair.expires_in * 1000;
    const tokens: TokenSet = {
      access_token: pair.access_token,
      expires_at: issued + lifetime,
      refresh_at: issued + lifetime - Math.min(MAX_MARGIN_MS, lifetime / 4),
      refresh_token: pair.refresh_token,
      user: pair.user,
    };
    await this.store.write({ refreshToken: tokens.refresh_token, freshUntil: tokens.refresh_at });
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
  logout(): Promise<string | null> {
    // This tab is logged out at once; the stored token goes once no refresh is under way.
    this.forget();
    return this.locked(() => this.clear());
  }

  private async clear(): Promise<string | null> {
    const refreshToken = (await this.store.read())?.refreshToken ?? null;
    await this.store.remove();
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
    if (this.inFlight) return this.inFlight;
    const inFlight = (async () => {
      const known = (await this.store.read())?.refreshToken ?? null;
      return this.locked(() => this.refreshOnce(stale, known));
    })();
    this.inFlight = inFlight;
    void inFlight.then(
      () => this.settled(inFlight),
      () => this.settled(inFlight),
    );
    return inFlight;
  }

  private settled(inFlight: Promise<string | null>): void {
    if (this.inFlight === inFlight) this.inFlight = null;
  }

  /** Runs under the lock. `known`: the stored refresh token when this refresh began. */
  private async refreshOnce(stale: string | null, known: string | null): Promise<string | null> {
    // Tokens another tab handed over while this one waited for the lock.
    if (this.fresh(stale)) return this.held?.access_token ?? null;
    // Read under the lock: every earlier holder's write has committed, so this is the current token.
    const stored = await this.store.read();
    // Or handed over while the read was under way.
    if (this.fresh(stale)) return this.held?.access_token ?? null;
    if (stored === null) {
      if (this.held) this.forget();
      return null;
    }
    const current = stored.refreshToken;
    const freshElsewhere = this.options.channel !== null && stored.freshUntil > this.now();
    const rotatedElsewhere = current !== (this.held ? this.held.refresh_token : known);
    if (rotatedElsewhere && freshElsewhere && (await this.handedOver(stale))) {
      return this.held?.access_token ?? null;
    }
    let pair: TokenPair;
    try {
      pair = await this.options.refresh(current);
    } catch (error) {
      // A refresh token the server refuses is dead for every tab: they all share it.
      if (isLatchkeyError(error) && error.status === 401) {
        if ((await this.store.read())?.refreshToken === current) await this.clear();
        return null;
      }
      throw error;
    }
    return this.keep(pair);
  }

  /** Asks the other tabs for their tokens and waits for fresh ones; false if none come. */
  private handedOver(stale: string | null): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (arrived: boolean) => {
        clearTimeout(timer);
        this.arrivals.delete(onArrival);
        resolve(arrived);
      };
      const onArrival = (loggedOut: boolean) => {
        if (loggedOut || this.fresh(stale)) done(true);
      };
      const timer = setTimeout(() => done(false), HAND_OVER_MS);
      this.arrivals.add(onArrival);
      this.options.channel?.postMessage({ type: "ask" } satisfies TabMessage);
    });
  }

  private receive(data: unknown): void {
    if (!data || typeof data !== "object") return;
    const message = data as TabMessage;
    if (message.type === "tokens" && typeof message.access_token === "string") this.hold(message);
    else if (message.type === "logout") this.forget();
    else if (message.type === "ask") void this.answer();
  }

  /** Hands this tab's tokens to a tab that asked, if they are the current ones and fresh. */
  private async answer(): Promise<void> {
    if (!this.held || !this.fresh()) return;
    const stored = await this.store.read().catch(() => null);
    const held = this.held;
    if (!held || !this.fresh() || held.refresh_token !== stored?.refreshToken) return;
    this.options.channel?.postMessage({ type: "tokens", ...held } satisfies TabMessage);
  }

  private hold(tokens: TokenSet): void {
    const { access_token, expires_at, refresh_at, refresh_token, user } = tokens;
    this.held = { access_token, expires_at, refresh_at, refresh_token, user };
    this.options.onUser(user);
    this.arrived(false);
  }

  private forget(): void {
    this.held = null;
    this.options.onUser(null);
    this.arrived(true);
  }

  private arrived(loggedOut: boolean): void {
    for (const arrival of [...this.arrivals]) arrival(loggedOut);
  }
}
