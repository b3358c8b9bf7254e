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
  | "identity_unlinked"
  | "app_authorized"
  | "app_access_revoked"
  | "oauth_client_changed";

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

/** A scope an app can ask for (`scopes_supported`); a newer server may know others. */
export type Scope = "openid" | "email" | "profile" | "roles" | "offline_access" | (string & {});

export type IdTokenAlg = "RS256" | "EdDSA";

/** An app registered to log its users in with latchkey (an OAuth 2.0 / OpenID Connect client). */
export interface OAuthClient {
  client_id: string;
  name: string;
  /** No secret: the app proves itself with PKCE alone (an SPA, a CLI, a mobile app). */
  public: boolean;
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  scopes: Scope[];
  /** Its users are never asked to allow it: a first-party app. */
  skip_consent: boolean;
  id_token_signed_response_alg: IdTokenAlg;
  created_at: string;
}

/** `POST /api/oauth2/clients` and a new secret: the only answers that hold `client_secret`. */
export interface NewOAuthClient extends OAuthClient {
  /** Absent for a public client. */
  client_secret?: string | undefined;
}

export interface ClientSecret {
  client_id: string;
  client_secret: string;
}

/** An app's pending sign-in, stored by `/oauth2/authorize` while the user logs in or decides. */
export interface OAuthRequest {
  id: string;
  client: { client_id: string; name: string };
  scopes: Scope[];
  /** No session, or one older than the app demands (`prompt=login`, `max_age`). */
  login_required: boolean;
  consent_required: boolean;
  login_hint: string | null;
}

/** Where the browser goes after Allow or Deny: back to the app with a code or an error. */
export interface OAuthDecision {
  redirect_to: string;
}

/** An app the user allowed, remembered so it is not asked again. */
export interface Grant {
  id: number;
  client_id: string;
  client_name: string;
  scopes: Scope[];
  created_at: string;
  updated_at: string;
}
