import type { AssertionJSON } from "../lib/webauthn";
import { request } from "./client";
import type { User } from "./types";

export interface SignupInput {
  username: string;
  password: string;
  password_confirmation: string;
  email?: string;
}

export function signup(input: SignupInput): Promise<User> {
  return request<User>("POST", "/api/signup", { json: input });
}

/**
 * `username` may also be the account's email address. For an account with a
 * second factor this rejects with an ApiError `second_factor_required` whose
 * `secondFactor` holds the challenge for `loginSecondFactor`.
 */
export function login(username: string, password: string): Promise<User> {
  return request<User>("POST", "/api/login", { json: { username, password } });
}

/** A code from the authenticator app, one of the recovery codes, or a passkey's signature. */
export type SecondFactorProof = { code: string } | { recovery_code: string } | { credential: AssertionJSON };

/** Finishes a login with the challenge from `login` (same browser: a cookie binds it). */
export function loginSecondFactor(challenge: string, proof: SecondFactorProof): Promise<User> {
  return request<User>("POST", "/api/login/second-factor", { json: { challenge, ...proof } });
}

/** The logged-in user, or null when the cookie names no live session (204). */
export async function checkSession(signal?: AbortSignal): Promise<User | null> {
  const user = await request<User | undefined>("GET", "/api/check_session", { signal });
  return user ?? null;
}

export function logout(): Promise<void> {
  return request<void>("DELETE", "/api/logout");
}
