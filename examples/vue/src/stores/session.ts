import type { User } from "@latchkey/client";
import { defineStore } from "pinia";
import { ref } from "vue";
import { latchkey } from "../latchkey";
import type { SessionEnd } from "../problems";

/** The account asks for a second step (authenticator code or passkey), which this example leaves to latchkey's own pages. */
export class SecondStepRequired extends Error {
  constructor() {
    super("This account asks for a second step (an authenticator code or a passkey), which this app does not offer.");
    this.name = "SecondStepRequired";
  }
}

export const useSessionStore = defineStore("session", () => {
  const user = ref<User | null>(null);
  /** Why the user was last sent to log in again; the login page says it. */
  const ended = ref<SessionEnd | null>(null);
  let restored: Promise<void> | null = null;

  /**
   * Once per page load: a refresh token kept from an earlier visit (or another tab)
   * logs the user in again without a password.
   */
  function restore(): Promise<void> {
    restored ??= (async () => {
      const auth = latchkey();
      // Also told when another tab of this app logs in or out.
      auth.onChange((next) => {
        user.value = next;
      });
      try {
        user.value = await auth.getSession();
      } catch {
        // latchkey unreachable: the app still shows the public survey list.
        user.value = null;
      }
    })();
    return restored;
  }

  async function logIn(username: string, password: string): Promise<void> {
    const result = await latchkey().login({ username, password });
    if (result.status !== "done") throw new SecondStepRequired();
    ended.value = null;
    user.value = result.user;
  }

  async function register(username: string, password: string): Promise<void> {
    const created = await latchkey().signup({ username, password, password_confirmation: password });
    ended.value = null;
    user.value = created;
  }

  /** Forgets the tokens in every tab, then revokes the refresh token at latchkey (which may fail: offline). */
  async function logOut(): Promise<void> {
    ended.value = null;
    try {
      await latchkey().logout();
    } finally {
      user.value = null;
    }
  }

  /** latchkey refused this app's credential: forget it in every tab, and remember why for the login page. */
  async function credentialRefused(reason: SessionEnd): Promise<void> {
    ended.value = reason;
    try {
      await latchkey().logout();
    } catch {
      // The tokens are forgotten even when their revocation could not be sent.
    }
    user.value = null;
  }

  return { user, ended, restore, logIn, register, logOut, credentialRefused };
});
