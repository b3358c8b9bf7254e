import { LatchkeyError, type User } from "@latchkey/client";
import type { AssertionJSON } from "../lib/webauthn";
import { api, call, latchkey, worded } from "./client";

export interface SignupInput {
  username: string;
  password: string;
  password_confirmation: string;
  email?: string;
}

export function signup(input: SignupInput): Promise<User> {
  return call(latchkey.signup(input));
}

/**
 * `username` may also be the account's email address. For an account with a
 * second factor this rejects with an ApiError `second_factor_required` whose
 * `secondFactor` holds the challenge for `loginSecondFactor`: the login page
 * treats the second step as a form error to answer, like the server does.
 */
export async function login(username: string, password: string): Promise<User> {
  const result = await call(latchkey.login({ username, password }));
  if (result.status === "done") return result.user;
  throw worded(
    new LatchkeyError({ status: 401, code: "second_factor_required", message: "second factor required", secondFactor: result.challenge }),
  );
}

/** A code from the authenticator app, one of the recovery codes, or a passkey's signature. */
export type SecondFactorProof = { code: string } | { recovery_code: string } | { credential: AssertionJSON };

/** Finishes a login with the challenge from `login` (same browser: a cookie binds it). */
export function loginSecondFactor(challenge: string, proof: SecondFactorProof): Promise<User> {
  return call(latchkey.completeLogin(challenge, proof));
}

/** The logged-in user, or null when the cookie names no live session (204). */
export async function checkSession(signal?: AbortSignal): Promise<User | null> {
  return (await api.GET("/api/check_session", { signal })) ?? null;
}

export function logout(): Promise<void> {
  return call(latchkey.logout());
}
