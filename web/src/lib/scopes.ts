import type { Scope } from "../api/oauth2";

const WORDS: Record<string, string> = {
  openid: "Know who you are (your account id)",
  email: "See your email address",
  profile: "See your username",
  roles: "See your roles",
  offline_access: "Stay connected while you are away",
};

/** What an app may do with a scope, worded for the person asked to allow it. */
export function describeScope(scope: Scope): string {
  // A scope this build does not know is still shown: hiding it would understate what is allowed.
  return WORDS[scope] ?? `Use “${scope}”`;
}
