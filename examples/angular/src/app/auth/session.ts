import { computed, DestroyRef, inject, Injectable, signal } from "@angular/core";
import { isLatchkeyError, type User } from "@latchkey/client";
import { LATCHKEY } from "./latchkey";

export type SessionStatus = "loading" | "authenticated" | "anonymous";

export interface Registration {
  username: string;
  password: string;
  passwordConfirmation: string;
  email: string;
}

/**
 * Who is logged in, as signals the templates read. latchkey's session cookie is the
 * truth: on each page load (a reload included) `whenKnown()` asks GET /api/check_session
 * once, so a login survives reloads without the page storing anything.
 */
@Injectable({ providedIn: "root" })
export class Session {
  private readonly client = inject(LATCHKEY);
  private readonly known = signal(false);
  private readonly current = signal<User | null>(null);
  private firstCheck: Promise<User | null> | null = null;

  readonly user = this.current.asReadonly();
  readonly status = computed<SessionStatus>(() =>
    !this.known() ? "loading" : this.current() ? "authenticated" : "anonymous",
  );
  /** Why the last check_session failed (latchkey down, this origin not allowed, …); null once it answers. */
  readonly checkError = signal<unknown>(null);

  constructor() {
    const stop = this.client.onChange((user) => this.current.set(user));
    inject(DestroyRef).onDestroy(stop);
  }

  /** The user once latchkey has said whether this browser is logged in; asks only the first time. */
  whenKnown(): Promise<User | null> {
    this.firstCheck ??= this.check();
    return this.firstCheck;
  }

  /** Asks latchkey again (GET /api/check_session). */
  async check(): Promise<User | null> {
    try {
      const user = await this.client.getSession();
      this.checkError.set(null);
      this.settle(user);
    } catch (error) {
      this.checkError.set(error);
      this.settle(null);
    }
    return this.current();
  }

  /** Resolves with the user, or with null when the account needs a second factor; rejects with a LatchkeyError. */
  async login(username: string, password: string): Promise<User | null> {
    const result = await this.client.login({ username, password });
    if (result.status !== "done") return null;
    this.settle(result.user);
    return result.user;
  }

  /** latchkey logs a new account in at once, so this ends with a session too. */
  async register(form: Registration): Promise<User> {
    const user = await this.client.signup({
      username: form.username,
      password: form.password,
      password_confirmation: form.passwordConfirmation,
      ...(form.email.trim() ? { email: form.email.trim() } : {}),
    });
    this.settle(user);
    return user;
  }

  async logout(): Promise<void> {
    try {
      await this.client.logout();
    } catch (error) {
      // 401: the session had already ended (expired, revoked, logged out in another tab).
      if (!isLatchkeyError(error, "unauthorized")) throw error;
    } finally {
      // Even if latchkey could not be told, this page stops acting logged in.
      this.settle(null);
    }
  }

  /** For a 401 from an API call: the session ended elsewhere (expired, revoked, logged out in another tab). */
  ended(): void {
    this.settle(null);
  }

  private settle(user: User | null): void {
    this.current.set(user);
    this.known.set(true);
  }
}
