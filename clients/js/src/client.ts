import { isLatchkeyError, LatchkeyError, type SecondFactorChallenge } from "./errors.js";
import { createApi, request, type TypedApi } from "./http.js";
import { passkeys, type PasskeyActions } from "./passkeys.js";
import { withStepUp, type StepUpConfirm } from "./stepUp.js";
import { refreshStore, type TokenStorage } from "./refreshStore.js";
import { defaultChannel, defaultLocks, type ChannelLike, type LockManagerLike } from "./tabs.js";
import { TokenKeeper } from "./tokens.js";
import type { Provider, TokenPair, User } from "./types.js";
import type { AssertionJSON } from "./webauthn.js";

export type Mode = "cookie" | "token";

export interface ClientOptions {
  /** latchkey's public URL; "" (the default) is this page's own origin. */
  baseUrl?: string;
  /** "cookie" (default): the HttpOnly session cookie. "token": Bearer access tokens with refresh tokens. */
  mode?: Mode;
  /**
   * Token mode: where the refresh token lives so tabs and reloads share it. Default
   * IndexedDB (`localStorage` where it is missing); an `IDBFactory` or a `Storage` may be
   * passed; null keeps it in memory only. Tabs tell who refreshes by reading it under a
   * Web Lock, which IndexedDB makes reliable; with a `Storage` that depends on the storage.
   */
  storage?: TokenStorage;
  /** Prefix of the storage keys, and the name of the Web Lock and BroadcastChannel. Default "latchkey". */
  storageKey?: string;
  /** Default: the global `fetch`, looked up at each call. */
  fetch?: typeof globalThis.fetch;
  /** Token mode: default `navigator.locks`; null refreshes with an in-tab single flight only. */
  locks?: LockManagerLike | null;
  /** Token mode: default a `BroadcastChannel` named `storageKey`; null tells no other tab. */
  channel?: ChannelLike | null;
}

export interface SignupInput {
  username: string;
  password: string;
  password_confirmation?: string;
  email?: string;
}

export type LoginResult = { status: "done"; user: User } | { status: "second_factor"; challenge: SecondFactorChallenge };

/** A code from the authenticator app, one of the recovery codes, or a passkey's signature. */
export type SecondFactorProof = { code: string } | { recovery_code: string } | { credential: AssertionJSON };

export interface LatchkeyClient {
  readonly mode: Mode;
  readonly baseUrl: string;
  /** The last known user, null when logged out or not yet known. */
  readonly user: User | null;
  /** Called whenever `user` changes, also when another tab logs in or out (token mode). Returns the unsubscribe. */
  onChange(listener: (user: User | null) => void): () => void;
  getSession(): Promise<User | null>;
  signup(input: SignupInput): Promise<User>;
  login(input: { username: string; password: string }): Promise<LoginResult>;
  completeLogin(challenge: SecondFactorChallenge | string, proof: SecondFactorProof): Promise<User>;
  logout(): Promise<void>;
  /** Token mode: the access token, refreshed when near expiry; null when logged out. Cookie mode: always null. */
  accessToken(): Promise<string | null>;
  /** `fetch` with this client's credentials; in token mode one refresh and retry on 401 `token_expired`. */
  fetch(input: string, init?: RequestInit): Promise<Response>;
  /** Typed calls by path; resolve with the 2xx body, reject with LatchkeyError. */
  readonly api: TypedApi;
  readonly passkeys: PasskeyActions;
  /** Runs `action`; on 403 `reauthentication_required` asks `confirm`, re-authenticates, and runs it once more. */
  withStepUp<T>(action: () => Promise<T>, confirm: StepUpConfirm): Promise<T>;
  /** Renews the login's authentication time with the password or an authenticator code. */
  reauthenticate(proof: { password: string } | { code: string }): Promise<void>;
  /** The identity providers to offer as "Continue with …". */
  providers(): Promise<Provider[]>;
  /** Where the browser goes to log in with provider `id`; `next` is the path on latchkey's site to return to. */
  providerLoginUrl(id: string, options?: { next?: string }): string;
}

export function createClient(options: ClientOptions = {}): LatchkeyClient {
  return new Client(options);
}

class Client implements LatchkeyClient {
  readonly mode: Mode;
  readonly baseUrl: string;
  readonly api: TypedApi;
  readonly passkeys: PasskeyActions;
  private currentUser: User | null = null;
  private readonly listeners = new Set<(user: User | null) => void>();
  private readonly send: typeof globalThis.fetch;
  private readonly tokens: TokenKeeper | null;

  constructor(options: ClientOptions) {
    this.mode = options.mode ?? "cookie";
    this.baseUrl = (options.baseUrl ?? "").replace(/\/+$/, "");
    const injected = options.fetch;
    // Looked up at each call so a fetch replaced later (tests, polyfills) is used.
    this.send = injected ? (input, init) => injected(input, init) : (input, init) => globalThis.fetch(input, init);
    this.api = createApi(this.baseUrl, (url, init) => this.fetch(url, init));
    this.passkeys = passkeys(this);
    const storageKey = options.storageKey ?? "latchkey";
    this.tokens =
      this.mode === "token"
        ? new TokenKeeper({
            storageKey,
            store: refreshStore(options.storage, storageKey),
            locks: options.locks === undefined ? defaultLocks() : options.locks,
            channel: options.channel === undefined ? defaultChannel(storageKey) : options.channel,
            refresh: (refresh_token) => this.plain<TokenPair>("POST", "/api/token/refresh", { refresh_token }),
            onUser: (user) => this.setUser(user),
          })
        : null;
  }

  get user(): User | null {
    return this.currentUser;
  }

  onChange(listener: (user: User | null) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  async getSession(): Promise<User | null> {
    if (!this.tokens) {
      const user = (await this.api.GET("/api/check_session")) as User | undefined;
      this.setUser(user ?? null);
      return this.currentUser;
    }
    const token = await this.tokens.accessToken();
    if (token === null) this.setUser(null);
    return this.currentUser;
  }

  async signup(input: SignupInput): Promise<User> {
    const user = (await this.api.POST("/api/signup", { body: input })) as User;
    if (!this.tokens) {
      this.setUser(user);
      return user;
    }
    // The signup answer sets a cookie; a token client logs in for its tokens instead.
    const result = await this.login({ username: input.username, password: input.password });
    return result.status === "done" ? result.user : user;
  }

  async login(input: { username: string; password: string }): Promise<LoginResult> {
    try {
      if (!this.tokens) {
        const user = (await this.api.POST("/api/login", { body: input })) as User;
        this.setUser(user);
        return { status: "done", user };
      }
      return { status: "done", user: await this.acceptTokens(await this.plain<TokenPair>("POST", "/api/token", input)) };
    } catch (error) {
      if (isLatchkeyError(error, "second_factor_required" as LatchkeyError["code"]) && error.secondFactor) {
        return { status: "second_factor", challenge: error.secondFactor };
      }
      throw error;
    }
  }

  async completeLogin(challenge: SecondFactorChallenge | string, proof: SecondFactorProof): Promise<User> {
    const body = { challenge: typeof challenge === "string" ? challenge : challenge.challenge, ...proof };
    if (!this.tokens) {
      const user = (await this.api.POST("/api/login/second-factor", { body })) as User;
      this.setUser(user);
      return user;
    }
    return this.acceptTokens(await this.plain<TokenPair>("POST", "/api/token/second-factor", body));
  }

  async logout(): Promise<void> {
    if (!this.tokens) {
      await this.api.DELETE("/api/logout");
      this.setUser(null);
      return;
    }
    const refreshToken = await this.tokens.logout();
    // Revoked after the tabs forgot it: even if the server cannot be reached, this browser is logged out.
    if (refreshToken !== null) await this.plain("POST", "/api/token/revoke", { refresh_token: refreshToken });
  }

  async accessToken(): Promise<string | null> {
    return this.tokens ? this.tokens.accessToken() : null;
  }

  async fetch(input: string, init: RequestInit = {}): Promise<Response> {
    if (!this.tokens) {
      const response = await this.send(input, { ...init, credentials: "include" });
      // The cookie names no live session any more (revoked elsewhere): the user is gone.
      if (response.status === 401 && (await errorCode(response)) === "unauthorized") this.setUser(null);
      return response;
    }
    const token = await this.tokens.accessToken();
    const response = await this.send(input, withBearer(init, token));
    if (token === null || response.status !== 401 || (await errorCode(response)) !== "token_expired") return response;
    const fresh = await this.tokens.replace(token);
    return fresh === null ? response : this.send(input, withBearer(init, fresh));
  }

  withStepUp<T>(action: () => Promise<T>, confirm: StepUpConfirm): Promise<T> {
    return withStepUp(this, action, confirm);
  }

  async reauthenticate(proof: { password: string } | { code: string }): Promise<void> {
    this.renewed(await this.api.POST("/api/reauthenticate", { body: proof }));
  }

  /** A token caller's re-authentication answers a new access token with the new authentication time. */
  renewed(answer: { access_token?: string | null; expires_in?: number | null } | undefined): void {
    if (this.tokens && answer?.access_token && answer.expires_in) this.tokens.adopt(answer.access_token, answer.expires_in);
  }

  async providers(): Promise<Provider[]> {
    const features = await this.api.GET("/api/features");
    return features.providers ?? [];
  }

  providerLoginUrl(id: string, options: { next?: string } = {}): string {
    const query = options.next === undefined ? "" : `?${new URLSearchParams({ return_to: options.next })}`;
    return `${this.baseUrl}/api/federation/${encodeURIComponent(id)}/start${query}`;
  }

  /** Keeps a token login's tokens (token mode) and answers its user. */
  async acceptTokens(pair: TokenPair): Promise<User> {
    if (!this.tokens) throw new TypeError("tokens arrived for a cookie-mode client");
    await this.tokens.accept(pair);
    return pair.user;
  }

  /** Sets the user of a cookie login made outside `login` (a passkey, a provider's round trip). */
  setUser(user: User | null): void {
    if (JSON.stringify(user) === JSON.stringify(this.currentUser)) return;
    this.currentUser = user;
    for (const listener of [...this.listeners]) listener(user);
  }

  /** A JSON call without credentials: the token endpoints authenticate by their body. */
  plain<T>(method: string, path: string, body: unknown): Promise<T> {
    return request(this.send, method, this.baseUrl + path, { body }) as Promise<T>;
  }
}

export type { Client };

async function errorCode(response: Response): Promise<string | undefined> {
  try {
    const body: unknown = await response.clone().json();
    return body && typeof body === "object" && "error" in body && typeof body.error === "string" ? body.error : undefined;
  } catch {
    return undefined;
  }
}

function withBearer(init: RequestInit, token: string | null): RequestInit {
  if (token === null) return init;
  const authorization = `Bearer ${token}`;
  if (init.headers instanceof Headers || Array.isArray(init.headers)) {
    const headers = new Headers(init.headers);
    headers.set("Authorization", authorization);
    return { ...init, headers };
  }
  return { ...init, headers: { ...init.headers, Authorization: authorization } };
}
