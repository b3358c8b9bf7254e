import type { components, Features, User } from "@latchkey/client";

type ChangeEmailRequest = components["schemas"]["ChangeEmailRequest"];
import { api } from "./client";

/** What this server offers; the app hides the email links when `email` is false. */
export function getFeatures(signal?: AbortSignal): Promise<Features> {
  return api.GET("/api/features", { signal });
}

/** Follows a verification (or address change) link; answers the account as it now is. */
export function verifyEmail(token: string): Promise<User> {
  return api.POST("/api/email/verify", { body: { token } });
}

export function resendVerification(): Promise<void> {
  return api.POST("/api/email/verify/resend");
}

/** `username` may also be the email address. Answers alike whether or not the account exists. */
export function forgotPassword(username: string): Promise<void> {
  return api.POST("/api/password/forgot", { body: { username } });
}

export function resetPassword(token: string, newPassword: string): Promise<void> {
  return api.POST("/api/password/reset", { body: { token, new_password: newPassword } });
}

/**
 * Mails a link to `newEmail`; the address changes only when that link is
 * followed. An account without a password sends none (`undefined`): a recent
 * login at its provider stands in for it, else `reauthentication_required`.
 */
export function changeEmail(newEmail: string, currentPassword: string | undefined): Promise<void> {
  // The document marks `current_password` required; an account without a password leaves it out.
  const body = (currentPassword === undefined ? { new_email: newEmail } : { current_password: currentPassword, new_email: newEmail }) as ChangeEmailRequest;
  return api.PUT("/api/me/email", { body });
}

/** The token of a mailed link: it travels in the URL fragment, which no server sees. */
export function tokenFromHash(hash: string): string {
  return new URLSearchParams(hash.replace(/^#/, "")).get("token") ?? "";
}
