import { request } from "./client";
import type { Features, User } from "./types";

/** What this server offers; the app hides the email links when `email` is false. */
export function getFeatures(signal?: AbortSignal): Promise<Features> {
  return request<Features>("GET", "/api/features", { signal });
}

/** Follows a verification (or address change) link; answers the account as it now is. */
export function verifyEmail(token: string): Promise<User> {
  return request<User>("POST", "/api/email/verify", { json: { token } });
}

export function resendVerification(): Promise<void> {
  return request<void>("POST", "/api/email/verify/resend");
}

/** `username` may also be the email address. Answers alike whether or not the account exists. */
export function forgotPassword(username: string): Promise<void> {
  return request<void>("POST", "/api/password/forgot", { json: { username } });
}

export function resetPassword(token: string, newPassword: string): Promise<void> {
  return request<void>("POST", "/api/password/reset", { json: { token, new_password: newPassword } });
}

/**
 * Mails a link to `newEmail`; the address changes only when that link is
 * followed. An account without a password sends none (`undefined`): a recent
 * login at its provider stands in for it, else `reauthentication_required`.
 */
export function changeEmail(newEmail: string, currentPassword: string | undefined): Promise<void> {
  const json = currentPassword === undefined ? { new_email: newEmail } : { current_password: currentPassword, new_email: newEmail };
  return request<void>("PUT", "/api/me/email", { json });
}

/** The token of a mailed link: it travels in the URL fragment, which no server sees. */
export function tokenFromHash(hash: string): string {
  return new URLSearchParams(hash.replace(/^#/, "")).get("token") ?? "";
}
