// The one place that talks to latchkey: the app's @latchkey/client, in cookie
// mode on its own origin. The package gives error codes; this module words
// them for people, so every page says the same thing for the same failure.

import {
  createClient,
  isLatchkeyError,
  LatchkeyError,
  PasskeyDialogError,
  type ClientErrorCode,
  type ErrorCode as ServerErrorCode,
  type FieldErrors,
  type LatchkeyErrorInit,
  type TypedApi,
} from "@latchkey/client";

export { parseRetryAfter } from "@latchkey/client";
export type { FieldErrors, SecondFactorChallenge } from "@latchkey/client";

/** latchkey, as its own web app sees it: same origin, the HttpOnly session cookie. */
export const latchkey = createClient({ mode: "cookie" });

export type ErrorCode = ServerErrorCode | ClientErrorCode;

/** A LatchkeyError whose `message` and `fields` are worded for the people using this app. */
export class ApiError extends LatchkeyError {
  constructor(init: LatchkeyErrorInit) {
    super(init);
    this.name = "ApiError";
  }
}

export function isApiError(error: unknown, code?: ErrorCode): error is ApiError {
  return error instanceof ApiError && (code === undefined || error.code === code);
}

/** What to show for an error of any kind: ours are already worded for people. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError || error instanceof PasskeyDialogError) return error.message;
  return "Something went wrong. Please try again.";
}

type Listener = (error: ApiError) => void;
const unauthorizedListeners = new Set<Listener>();

/**
 * Called whenever the server says the cookie names no live session, so the
 * auth state can drop a user whose session was revoked elsewhere (a password
 * change in another browser, an admin) instead of showing a broken page.
 */
export function onUnauthorized(listener: Listener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

/** The package's error, worded; anything else (an abort, a bug) passes as it is. */
export function worded(error: unknown): unknown {
  if (!isLatchkeyError(error) || error instanceof ApiError) return error;
  const apiError = word(error);
  if (apiError.code === "unauthorized") unauthorizedListeners.forEach((listener) => listener(apiError));
  return apiError;
}

function word(error: LatchkeyError): ApiError {
  if (error.code === "network_error") {
    return new ApiError({ status: 0, code: error.code, message: "Could not reach the server. Check your connection and try again." });
  }
  if (error.code === "bad_response") {
    return new ApiError({
      status: error.status,
      code: error.code,
      message: "The server sent an answer this page does not understand. Please reload and try again.",
    });
  }
  return new ApiError({
    status: error.status,
    code: error.code,
    message: describe(error.code, error.status, error.retryAfter),
    fields: fieldsFor(error.code, sentences(error.fields)),
    retryAfter: error.retryAfter,
    secondFactor: error.secondFactor,
    body: error.body,
    cause: error,
  });
}

/** Waits for `promise`, turning a failure into an ApiError worded for people. */
export async function call<T>(promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (error) {
    throw worded(error);
  }
}

/** The typed API of the package, with its errors worded: what the modules beside this one call. */
export const api: TypedApi = {
  GET: (path, ...init) => call(latchkey.api.GET(path, ...init)),
  POST: (path, ...init) => call(latchkey.api.POST(path, ...init)),
  PUT: (path, ...init) => call(latchkey.api.PUT(path, ...init)),
  DELETE: (path, ...init) => call(latchkey.api.DELETE(path, ...init)),
};

/** A query without its absent entries: an unset cursor is left out, never sent as "null". */
export function present<T extends object>(query: T): { [K in keyof T]?: Exclude<T[K], null> } {
  return Object.fromEntries(Object.entries(query).filter(([, value]) => value !== null && value !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], null>;
  };
}

function sentences(fields: FieldErrors | undefined): FieldErrors | undefined {
  if (!fields) return undefined;
  return Object.fromEntries(Object.entries(fields).map(([name, message]) => [name, sentence(name, message)]));
}

/** The sentence for an error code the server sent in a redirect (`?error=`), not a response. */
export function describeCode(code: string, status: number): string {
  return describe(code, status, undefined);
}

function describe(code: string, status: number, retryAfter: number | undefined): string {
  switch (code) {
    case "bad_request":
      return "The server could not understand this request. Please reload the page and try again.";
    case "unauthorized":
      return "You are not logged in, or your session has ended. Please log in again.";
    case "invalid_credentials":
      return "Wrong username or password.";
    case "token_expired":
    case "invalid_token":
      return "Your sign-in has expired. Please log in again.";
    case "forbidden":
      return "You are not allowed to do that.";
    case "csrf_rejected":
      return "The server refused this request because it did not seem to come from this site. Reload the page and try again.";
    case "not_found":
      return "That no longer exists. It may have been deleted.";
    case "method_not_allowed":
      return "The server does not support this action.";
    case "username_taken":
      return "That username is already taken.";
    case "email_taken":
      return "An account with that email address already exists.";
    case "last_admin":
      return "That would leave no administrator. Make someone else an admin first.";
    case "payload_too_large":
      return "That is too large for the server to accept.";
    case "unsupported_media_type":
      return "The server does not accept that type of file. Use a PNG, JPEG or GIF image.";
    case "validation_failed":
      return "Please correct the fields marked below.";
    case "rate_limited":
      return retryAfter === undefined
        ? "Too many attempts. Try again later."
        : `Too many attempts. Try again in ${formatWait(retryAfter)}.`;
    case "second_factor_required":
      return "Enter the code from your authenticator app to finish logging in.";
    case "invalid_challenge":
      return "This login has expired. Please enter your username and password again.";
    case "invalid_code":
      return "That code is not valid. Codes work once; wait for the next one or use a recovery code.";
    case "invalid_passkey":
      // 400 for a new passkey the server could not verify, 401 for a login.
      return status === 400
        ? "The new passkey could not be verified. Please try again."
        : "That passkey is not accepted here. It may have been removed from your account: log in with your password.";
    case "passkey_exists":
      return "That passkey is already registered.";
    case "reauthentication_required":
      return "Please confirm your password to continue.";
    case "second_factor_enabled":
      return "An authenticator app is already set up for this account.";
    case "unavailable":
      return "The service is temporarily unavailable. Please try again in a moment.";
    case "internal":
      return "Something went wrong on the server. Please try again.";
    case "invalid_link":
      return "This link is invalid, has expired or was already used. Ask for a new one.";
    case "email_not_verified":
      return "Confirm your email address first: open the link in the mail we sent you.";
    case "email_unavailable":
      return "This server cannot send mail. Ask its administrator for help.";
    case "signup_disabled":
      return "No account here is connected to that login, and this server does not create new accounts. Log in with your username and password instead, or ask the administrator for an account.";
    case "account_exists":
      return "An account with this email address already exists. Log in with your password, then connect the provider from your account page.";
    case "identity_in_use":
      return "That account at the provider is already connected to another account here. Log in to that account to use it, or connect a different one.";
    case "federation_expired":
      return "This sign-in took too long, was already finished, or was started in another browser. Please start again.";
    case "federation_failed":
      return "Signing in with the provider did not work: it was cancelled, or the provider's answer could not be verified. Please try again.";
    case "provider_unavailable":
      return "The provider could not be reached. Please try again in a moment.";
    case "last_credential":
      return "This is your only way to log in: set a password or add a passkey first.";
    case "login_required":
      return "The app asks you to log in again before it continues.";
    case "public_client":
      return "A public client has no secret: it proves itself with PKCE.";
    default:
      return status >= 500
        ? "Something went wrong on the server. Please try again."
        : `Something went wrong (error ${status}). Please try again.`;
  }
}

/** "42 seconds", "1 second", "3 minutes": rounded up so waiting that long is enough. */
export function formatWait(seconds: number): string {
  if (seconds < 60) {
    const s = Math.max(1, Math.ceil(seconds));
    return s === 1 ? "1 second" : `${s} seconds`;
  }
  const minutes = Math.ceil(seconds / 60);
  return minutes === 1 ? "1 minute" : `${minutes} minutes`;
}

// A collision is about one field, so it is shown there like a validation error.
function fieldsFor(code: string, fields: FieldErrors | undefined): FieldErrors | undefined {
  if (code === "username_taken") return { ...fields, username: "That username is already taken." };
  if (code === "email_taken") return { ...fields, email: "An account with that email address already exists." };
  return fields;
}

// The server words field messages as fragments ("must be at least 8 characters")
// whose subject is the field; shown on their own they need it back
// ("Password must be at least 8 characters."). A message that already starts
// with a capital is a whole sentence and only gets its full stop.
function sentence(field: string, message: string): string {
  const trimmed = message.trim();
  if (trimmed === "") return "This value is not valid.";
  const text = /^[a-z]/.test(trimmed) ? `${fieldSubject(field)} ${trimmed}` : trimmed;
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

const SUBJECTS: Record<string, string> = {
  body: "The post",
  password_confirmation: "The confirmation",
  redirect_uris: "Redirect URIs",
  post_logout_redirect_uris: "Post-logout redirect URIs",
  id_token_signed_response_alg: "The ID token algorithm",
};

function fieldSubject(field: string): string {
  const subject = SUBJECTS[field] ?? field.replace(/_/g, " ");
  return subject.charAt(0).toUpperCase() + subject.slice(1);
}
