import { isLatchkeyError } from "@latchkey/client";

/** What a form shows after latchkey said no: a sentence above the form and messages under fields. */
export interface Problem {
  message: string | null;
  fields: Record<string, string>;
}

export const NO_PROBLEM: Problem = { message: null, fields: {} };

/**
 * Turns a failed call into words, by latchkey's stable error codes rather than its
 * messages, so the page can say what to do next. `latchkeyUrl` names the server in
 * the one case where it never answered.
 */
export function describeProblem(error: unknown, latchkeyUrl: string): Problem {
  if (!isLatchkeyError(error)) return { message: `Something went wrong: ${String(error)}`, fields: {} };
  switch (error.code) {
    case "invalid_credentials":
      return { message: "Wrong username or password.", fields: error.fields ?? {} };
    case "rate_limited":
      return {
        message: `Too many attempts. Try again in ${waitInWords(error.retryAfter)}.`,
        fields: {},
      };
    case "username_taken":
      return { message: null, fields: { username: error.message } };
    case "email_taken":
      return { message: null, fields: { email: error.message } };
    case "validation_failed":
      return { message: "Some fields need another look.", fields: error.fields ?? {} };
    case "csrf_rejected":
      return {
        message: `latchkey refused a request from ${location.origin}: list this origin in its cors.allowed_origins.`,
        fields: {},
      };
    case "network_error":
      return {
        message: `latchkey at ${latchkeyUrl} cannot be reached. Is it running, and does its cors.allowed_origins list ${location.origin}?`,
        fields: {},
      };
    default:
      return { message: error.message || `latchkey answered ${error.status} (${error.code}).`, fields: {} };
  }
}

/** `Retry-After` seconds as a person would say them; latchkey always sends it with a 429. */
export function waitInWords(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds <= 0) return "a moment";
  if (seconds < 60) return seconds === 1 ? "1 second" : `${Math.ceil(seconds)} seconds`;
  const minutes = Math.ceil(seconds / 60);
  return minutes === 1 ? "1 minute" : `${minutes} minutes`;
}
