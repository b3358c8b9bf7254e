import type { components } from "./schema.js";
import type { RequestOptionsJSON } from "./webauthn.js";

/**
 * The machine codes of latchkey's error table, as the OpenAPI document lists
 * them for `ErrorBody.error`.
 */
export type ErrorCode = components["schemas"]["ErrorBody"]["error"];

/** Codes this client produces itself: the server could not be reached, or answered something unreadable. */
export type ClientErrorCode = "network_error" | "bad_response";

export type FieldErrors = Record<string, string>;

/** What a `second_factor_required` answer holds: the challenge that finishes the login, and how. */
export interface SecondFactorChallenge {
  challenge: string;
  /** `"totp"`, `"recovery_code"`, `"webauthn"`: what `completeLogin` may be given. */
  methods: string[];
  /** With `"webauthn"` in `methods`: the options for the browser's passkey dialog. */
  webauthn?: { publicKey: RequestOptionsJSON } | undefined;
  /** Seconds the challenge stays valid, when the server says. */
  expires_in?: number | undefined;
}

export interface LatchkeyErrorInit {
  status: number;
  code: ErrorCode | ClientErrorCode;
  message: string;
  fields?: FieldErrors | undefined;
  retryAfter?: number | undefined;
  secondFactor?: SecondFactorChallenge | undefined;
  body?: unknown;
  cause?: unknown;
}

/**
 * Every failure of a latchkey call: an error answer (`status` and the server's
 * `code`), or `network_error` / `bad_response` with status 0 / the answer's.
 * `message` is the server's, meant for developers; apps word `code` for people.
 */
export class LatchkeyError extends Error {
  readonly status: number;
  readonly code: ErrorCode | ClientErrorCode;
  /** Per-field messages as the server wrote them (fragments like "must be at least 8 characters"). */
  readonly fields: FieldErrors | undefined;
  /** Seconds to wait, from `Retry-After`, when the server sent one. */
  readonly retryAfter: number | undefined;
  /** With `second_factor_required`: what finishes the login, and how. */
  readonly secondFactor: SecondFactorChallenge | undefined;
  /** The parsed error body, for anything this class does not lift out. */
  readonly body: unknown;

  constructor(init: LatchkeyErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "LatchkeyError";
    this.status = init.status;
    this.code = init.code;
    this.fields = init.fields;
    this.retryAfter = init.retryAfter;
    this.secondFactor = init.secondFactor;
    this.body = init.body;
  }
}

export function isLatchkeyError(error: unknown, code?: ErrorCode | ClientErrorCode): error is LatchkeyError {
  return error instanceof LatchkeyError && (code === undefined || error.code === code);
}

export function networkError(cause: unknown): LatchkeyError {
  return new LatchkeyError({ status: 0, code: "network_error", message: "latchkey could not be reached", cause });
}

export function badResponse(status: number, cause?: unknown): LatchkeyError {
  return new LatchkeyError({ status, code: "bad_response", message: "latchkey's answer could not be read", cause });
}

/** Reads an error answer; `text` is its body, already consumed. */
export function errorFromResponse(response: Response, text: string): LatchkeyError {
  let body: unknown;
  try {
    body = text === "" ? undefined : JSON.parse(text);
  } catch {
    // Proxies and crashed upstreams answer with HTML or nothing; the status alone decides then.
  }
  const parsed: Record<string, unknown> = body && typeof body === "object" ? (body as Record<string, unknown>) : {};
  const code = typeof parsed.error === "string" ? (parsed.error as ErrorCode) : codeForStatus(response.status);
  return new LatchkeyError({
    status: response.status,
    code,
    message: typeof parsed.message === "string" ? parsed.message : `${response.status} ${code}`,
    fields: parseFields(parsed.fields),
    retryAfter: parseRetryAfter(response.headers.get("Retry-After")),
    secondFactor: parseSecondFactor(parsed),
    body,
  });
}

// Without a body the status is all there is; these are the codes API.md gives those statuses.
function codeForStatus(status: number): ErrorCode {
  const byStatus: Record<number, string> = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    503: "unavailable",
  };
  return (byStatus[status] ?? (status >= 500 ? "internal" : "bad_request")) as ErrorCode;
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
    if (typeof message === "string") fields[name] = message;
  }
  return Object.keys(fields).length > 0 ? fields : undefined;
}

function parseSecondFactor(body: Record<string, unknown>): SecondFactorChallenge | undefined {
  if (typeof body.challenge !== "string") return undefined;
  return {
    challenge: body.challenge,
    methods: Array.isArray(body.methods) ? body.methods.filter((m): m is string => typeof m === "string") : [],
    webauthn: parseWebAuthn(body.webauthn),
    expires_in: typeof body.expires_in === "number" ? body.expires_in : undefined,
  };
}

function parseWebAuthn(value: unknown): SecondFactorChallenge["webauthn"] {
  if (!value || typeof value !== "object" || !("publicKey" in value)) return undefined;
  const publicKey = value.publicKey;
  if (!publicKey || typeof publicKey !== "object" || !("challenge" in publicKey) || typeof publicKey.challenge !== "string") {
    return undefined;
  }
  return { publicKey: publicKey as RequestOptionsJSON };
}
