// Shapes of the JSON bodies described in /API.md; field names are kept as the
// server spells them so a reader can match them line by line.

export type UserId = number;

export interface User {
  id: UserId;
  username: string;
  email: string | null;
  /** Whether the owner followed the link mailed to `email`. */
  email_verified: boolean;
  roles: string[];
  created_at: string;
}

export interface Features {
  signup: boolean;
  /** The server sends mail: verification, forgotten passwords, address changes. */
  email: boolean;
  require_verified_email: boolean;
  /** Passkeys (WebAuthn) can be added and used to log in. */
  passkeys: boolean;
  /** The host passkeys are bound to; browsers offer them only there and on its subdomains. */
  passkey_rp_id: string | null;
  /** Identity providers to log in with ("Continue with …"); absent from servers without federation. */
  providers?: Provider[] | undefined;
}

/** A configured identity provider, as `GET /api/features` lists it. */
export interface Provider {
  /** Used in the federation URLs: `/api/federation/{id}/…`. */
  id: string;
  /** What the button says: "Continue with {label}". */
  label: string;
}

/** An account at an identity provider that logs in to this latchkey account. */
export interface Identity {
  id: number;
  /** The provider's `id`. */
  provider: string;
  label: string;
  /** The address the provider gave, if any. */
  email: string | null;
  email_verified: boolean;
  created_at: string;
  last_used_at: string | null;
}

export interface Passkey {
  id: number;
  name: string;
  created_at: string;
  last_used_at: string | null;
}

/**
 * How a sign-in was made: in a browser, holding the session cookie, or with
 * `POST /api/token` by an app, a CLI or an SPA on another site, holding tokens.
 */
export type SessionKind = "cookie" | "token";

/** One entry of `GET /api/me/sessions`. `id` is unique only within its `kind`. */
export interface Session {
  id: number;
  kind: SessionKind;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  ip: string | null;
  user_agent: string | null;
  current: boolean;
}

export interface PostAuthor {
  id: UserId;
  username: string;
}

export interface Post {
  id: number;
  body: string;
  author: PostAuthor;
  created_at: string;
}

export type AuditKind =
  | "signup"
  | "login_succeeded"
  | "login_failed"
  | "login_throttled"
  | "logout"
  | "token_issued"
  | "token_refreshed"
  | "token_reuse_detected"
  | "password_changed"
  | "session_revoked"
  | "roles_changed"
  | "user_deleted"
  | "second_factor_required"
  | "second_factor_failed"
  | "totp_enabled"
  | "totp_disabled"
  | "recovery_codes_regenerated"
  | "recovery_code_used"
  | "second_factor_removed"
  | "reauthenticated"

  | "email_verification_sent"
  | "email_verified"
  | "password_reset_requested"
  | "password_reset"
  | "email_change_requested"
  | "email_changed"
  | "passkey_added"
  | "passkey_removed"
  | "federated_login_failed"
  | "identity_linked"
  | "identity_unlinked";

export interface AuditEvent {
  id: number;
  at: string;
  // A newer server may log kinds this build does not know yet.
  kind: AuditKind | (string & {});
  user_id: UserId | null;
  actor_id: UserId | null;
  ip: string | null;
  user_agent: string | null;
  detail: unknown;
}

export interface UsersPage {
  users: User[];
  next: UserId | null;
}

export interface PostsPage {
  posts: Post[];
  next: number | null;
}

export interface AuditPage {
  events: AuditEvent[];
  next: number | null;
}
