import { isLatchkeyError } from "@latchkey/client";

/**
 * How a session can end behind the user's back, told apart because the user's next
 * step differs: an expired session just needs a new login; a token latchkey does not
 * accept at all (altered, signed with a key it no longer has, revoked) is worth
 * telling about.
 */
export type SessionEnd = "expired" | "invalid" | "logged_out";

/** The session end a failed call means, or null when the credential was not the problem. */
export function sessionEndOf(error: unknown): SessionEnd | null {
  // 401 token_expired reaches the app only when the client could not renew the token.
  if (isLatchkeyError(error, "token_expired")) return "expired";
  if (isLatchkeyError(error, "invalid_token")) return "invalid";
  // No token was sent: another tab logged out, or the refresh token was refused.
  if (isLatchkeyError(error, "unauthorized")) return "logged_out";
  return null;
}

export const SESSION_END_MESSAGES: Record<SessionEnd, string> = {
  expired: "Your session expired. Log in again to continue.",
  invalid: "latchkey did not accept your token (invalid token). Log in again to continue.",
  logged_out: "You were logged out. Log in again to continue.",
};

/** A failed login, signup or save, in words for the person at the keyboard. */
export function describeProblem(error: unknown, latchkeyUrl: string): string {
  if (!isLatchkeyError(error)) return error instanceof Error ? error.message : String(error);
  switch (error.code) {
    case "invalid_credentials":
      return "Wrong username or password.";
    case "username_taken":
      return "That username is taken: choose another, or log in.";
    case "validation_failed":
      return error.fields
        ? Object.entries(error.fields)
            .map(([field, problem]) => `${capitalize(field.replace(/_/g, " "))} ${problem}.`)
            .join(" ")
        : error.message;
    case "rate_limited":
      return `Too many attempts. Try again in ${error.retryAfter ?? 60} seconds.`;
    case "csrf_rejected":
      return "latchkey refused a request from this page's origin: list it in latchkey's cors.allowed_origins.";
    case "network_error":
      // A CORS refusal looks the same as a server that is down to a page.
      return `latchkey could not be reached at ${latchkeyUrl}. Is it running, and does its cors.allowed_origins list ${location.origin}?`;
    default:
      return `latchkey answered: ${error.message}`;
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
