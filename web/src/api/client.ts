// The one place that talks HTTP to latchkey. Components call the typed
// functions in the sibling modules, which call `request`; nothing else uses
// `fetch`, so credentials, JSON handling and error wording stay consistent.

import { PasskeyDialogError, type RequestOptionsJSON } from "../lib/webauthn";

/** Codes from API.md's error table, plus the two this client produces itself. */
export type ErrorCode =
  | "bad_request"
  | "unauthorized"
  | "invalid_credentials"
  | "token_expired"
  | "invalid_token"
  | "forbidden"
  | "csrf_rejected"
  | "not_found"
  | "method_not_allowed"
  | "username_taken"
  | "email_taken"
  | "last_admin"
  | "payload_too_large"
  | "unsupported_media_type"
  | "validation_failed"
  | "rate_limited"
  | "second_factor_required"
  | "invalid_challenge"
  | "invalid_code"
  | "invalid_passkey"
  | "passkey_exists"
  | "reauthentication_required"
  | "second_factor_enabled"
  | "internal"
  | "unavailable"
  | "invalid_link"
  | "email_not_verified"
  | "email_unavailable"
  | "signup_disabled"
  | "account_exists"
  | "identity_in_use"
  | "federation_expired"
  | "federation_failed"
  | "provider_unavailable"
  | "last_credential"
  | "login_required"
  | "public_client"
  | "network_error"
  | "bad_response";

export type FieldErrors = Record<string, string>;

export interface SecondFactorChallenge {
  challenge: string;
  methods: string[];
  /** With `"webauthn"` in `methods`: the options for the browser's passkey dialog. */
  webauthn?: { publicKey: RequestOptionsJSON } | undefined;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: ErrorCode | (string & {});
  /** Per-field messages, ready to show next to the field they concern. */
  readonly fields: FieldErrors | undefined;
  /** Seconds to wait, from `Retry-After`, when the server sent one. */
  readonly retryAfter: number | undefined;
  /** With `second_factor_required`: what finishes the login, and how. */
  readonly secondFactor: SecondFactorChallenge | undefined;

  constructor(init: {
    status: number;
    code: string;
    message: string;
    fields?: FieldErrors | undefined;
    retryAfter?: number | undefined;
    secondFactor?: SecondFactorChallenge | undefined;
  }) {
    super(init.message);
    this.name = "ApiError";
    this.status = init.status;
    this.code = init.code;
    this.fields = init.fields;
    this.retryAfter = init.retryAfter;
    this.secondFactor = init.secondFactor;
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

export interface RequestOptions {
  /** Sent as JSON with `Content-Type: application/json`. */
  json?: unknown;
  /** Sent as is (an uploaded file) with its own content type. */
  body?: Blob;
  contentType?: string;
  signal?: AbortSignal;
}

export type Method = "GET" | "POST" | "PUT" | "DELETE";

/**
 * Sends one request with the session cookie and resolves with the parsed JSON
 * body, or `undefined` for an empty answer (204). Rejects with `ApiError` for
 * every non-2xx answer and for network failures; an abort is rethrown as is.
 */
export async function request<T>(method: Method, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  let body: BodyInit | undefined;
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.json);
  } else if (options.body !== undefined) {
    headers["Content-Type"] = options.contentType ?? (options.body.type || "application/octet-stream");
    body = options.body;
  }

  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body,
      credentials: "include",
      signal: options.signal,
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new ApiError({
      status: 0,
      code: "network_error",
      message: "Could not reach the server. Check your connection and try again.",
    });
  }

  const text = await response.text();
  if (response.ok) {
    if (text === "") return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError({
        status: response.status,
        code: "bad_response",
        message: "The server sent an answer this page does not understand. Please reload and try again.",
      });
    }
  }

  const error = toApiError(response, text);
  if (error.code === "unauthorized") unauthorizedListeners.forEach((listener) => listener(error));
  throw error;
}

interface ErrorBody {
  error?: unknown;
  message?: unknown;
  fields?: unknown;
  challenge?: unknown;
  methods?: unknown;
  webauthn?: unknown;
}

function toApiError(response: Response, text: string): ApiError {
  let parsed: ErrorBody = {};
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === "object") parsed = value as ErrorBody;
  } catch {
    // Proxies and crashed upstreams answer with HTML or nothing; the status alone decides then.
  }
  const code = typeof parsed.error === "string" ? parsed.error : codeForStatus(response.status);
  const retryAfter = parseRetryAfter(response.headers.get("Retry-After"));
  const serverFields = parseFields(parsed.fields);
  return new ApiError({
    status: response.status,
    code,
    message: describe(code, response.status, retryAfter),
    fields: fieldsFor(code, serverFields),
    retryAfter,
    secondFactor:
      typeof parsed.challenge === "string"
        ? {
            challenge: parsed.challenge,
            methods: Array.isArray(parsed.methods) ? parsed.methods.filter((m): m is string => typeof m === "string") : [],
            webauthn: parseWebAuthn(parsed.webauthn),
          }
        : undefined,
  });
}

function parseWebAuthn(value: unknown): SecondFactorChallenge["webauthn"] {
  if (!value || typeof value !== "object" || !("publicKey" in value)) return undefined;
  const publicKey = value.publicKey;
  if (!publicKey || typeof publicKey !== "object" || !("challenge" in publicKey) || typeof publicKey.challenge !== "string") {
    return undefined;
  }
  return { publicKey: publicKey as RequestOptionsJSON };
}

function codeForStatus(status: number): string {
  switch (status) {
    case 400:
      return "bad_request";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 413:
      return "payload_too_large";
    case 429:
      return "rate_limited";
    case 503:
      return "unavailable";
    default:
      return status >= 500 ? "internal" : "bad_request";
  }
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

/** `Retry-After` is either delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

function parseFields(value: unknown): FieldErrors | undefined {
  if (!value || typeof value !== "object") return undefined;
  const fields: FieldErrors = {};
  for (const [name, message] of Object.entries(value)) {
    if (typeof message === "string") fields[name] = sentence(name, message);
  }
  return Object.keys(fields).length > 0 ? fields : undefined;
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
