// Token mode's memory: the access token lives only in this tab's memory, the
// refresh token in shared storage, and a refresh is done by one tab for all.
//
// Refresh tokens are single use, so two tabs refreshing with the same one
// would look like theft to the server. Every refresh therefore runs under one
// Web Lock per storage key. Inside it a tab first looks whether another tab
// has rotated the refresh token since this tab's own tokens were issued (or,
// for a tab with none yet, since it began to wait), and whether the access
// token issued with it is still fresh; then the tab that rotated it holds good
// tokens, and they are handed over on the BroadcastChannel instead of
// refreshing again. Otherwise the tab refreshes with the stored token: under
// the lock, no refresh token is ever spent twice.

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

interface Stored {
  refreshToken: string;
  freshUntil: number;
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
// token broadcasts them, and any tab holding them answers an "ask".
const HAND_OVER_MS = 3_000;
// How long a tab that refreshed keeps the lock after telling the others. Storage
// written in one tab reaches another tab's process a moment later, like the
// broadcast; a tab let in at once could still read the spent refresh token.
const LINGER_MS = 150;

export class TokenKeeper {
  private readonly options: TokenKeeperOptions;
  private readonly now: () => number;
  private held: TokenSet | null = null;
  private inFlight: Promise<string | null> | null = null;
  /** Counts this tab's refreshes, to tell whether the lock is held after one. */
  private refreshes = 0;
  private readonly arrivals = new Set<() => void>();

  constructor(options: TokenKeeperOptions) {
    this.options = options;
    this.now = options.now ?? (() => Date.now());
    options.channel?.addEventListener("message", (event) => this.receive(event.data));
  }

  private get storedKey(): string {
    return `${this.options.storageKey}:refresh_token`;
  }

  /**
   * The stored refresh token, and until when the access token issued with it is
   * fresh (so a tab can tell that another tab holds good tokens). One storage
   * entry holds both, so they never disagree.
   */
  private stored(): Stored | null {
    const text = this.options.storage.getItem(this.storedKey);
    if (text === null) return null;
    try {
      const value: unknown = JSON.parse(text);
      if (value && typeof value === "object" && "refresh_token" in value && typeof value.refresh_token === "string") {
        const freshUntil = "fresh_until" in value && typeof value.fresh_until === "number" ? value.fresh_until : 0;
        return { refreshToken: value.refresh_token, freshUntil };
      }
    } catch {
      // Not written by this client: taken as a bare refresh token below.
    }
    return { refreshToken: text, freshUntil: 0 };
  }

  private store(tokens: TokenSet): void {
    this.options.storage.setItem(this.storedKey, JSON.stringify({ refresh_token: tokens.refresh_token, fresh_until: tokens.refresh_at }));
  }

  hasRefreshToken(): boolean {
    return this.stored() !== null;
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
    this.store(tokens);
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
    const refreshToken = this.stored()?.refreshToken ?? null;
    this.options.storage.removeItem(this.storedKey);
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
    const known = this.stored()?.refreshToken ?? null;
    const { locks, channel } = this.options;
    const inFlight = new Promise<string | null>((resolve, reject) => {
      const run = async () => {
        const refreshes = this.refreshes;
        try {
          resolve(await this.refreshOnce(stale, known));
        } catch (error) {
          reject(error);
          return;
        }
        // This tab's callers go on at once; the lock is let go a moment later.
        if (this.refreshes !== refreshes && channel) await new Promise((done) => setTimeout(done, LINGER_MS));
      };
      if (locks) locks.request(`${this.options.storageKey}:refresh`, run).catch(reject);
      else void run();
    });
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

  /** `known`: the stored refresh token when this refresh began. */
  private async refreshOnce(stale: string | null, known: string | null): Promise<string | null> {
    // Tokens another tab handed over while this one waited for the lock.
    if (this.fresh(stale)) return this.held?.access_token ?? null;
    const stored = this.stored();
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
        if (this.stored()?.refreshToken === current) this.logout();
        return null;
      }
      throw error;
    }
    this.refreshes += 1;
    return this.accept(pair);
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
    else if (message.type === "ask") this.answer();
  }

  /** Hands this tab's tokens to a tab that asked, if they are the current ones and fresh. */
  private answer(): void {
    const held = this.held;
    if (!held || !this.fresh() || held.refresh_token !== this.stored()?.refreshToken) return;
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
