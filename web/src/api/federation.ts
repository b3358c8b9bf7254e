// Inbound federation: logging in with an account at an identity provider
// ("Continue with …") and connecting such accounts to this one.

import { request } from "./client";
import { query } from "./query";
import type { Identity, User, UserId } from "./types";

/**
 * Where "Continue with …" goes: a full-page navigation to latchkey, which
 * answers with a redirect to the provider. `returnTo` must already be a
 * same-site path (see `safeNext`); the server refuses anything else.
 */
export function federationStartUrl(provider: string, returnTo: string): string {
  return `/api/federation/${encodeURIComponent(provider)}/start${query({ return_to: returnTo })}`;
}

/** What `POST /api/federation/continue` finishes: a login, a link, or a step-up. */
export type ContinueOutcome =
  | { kind: "login"; user: User }
  | { kind: "linked"; identity: Identity; returnTo: string | undefined }
  | { kind: "reauthenticated"; returnTo: string | undefined };

interface LinkedResponse {
  linked: Identity;
  return_to?: string;
}

interface ReauthenticatedResponse {
  reauthenticated: true;
  return_to?: string;
}

/**
 * Finishes the flow the provider's callback recorded for this browser. It
 * answers like `POST /api/login`: a login may reject with
 * `second_factor_required` (finish it with `loginSecondFactor`). The flow is
 * single use: a second call rejects with `federation_expired`.
 */
export async function continueFederation(): Promise<ContinueOutcome> {
  const body = await request<User | LinkedResponse | ReauthenticatedResponse>("POST", "/api/federation/continue", {
    json: { mode: "session" },
  });
  if ("linked" in body) return { kind: "linked", identity: body.linked, returnTo: body.return_to };
  if ("reauthenticated" in body) return { kind: "reauthenticated", returnTo: body.return_to };
  return { kind: "login", user: body };
}

export interface MyIdentities {
  identities: Identity[];
  /** False for accounts made through a provider that never set a password. */
  has_password: boolean;
}

export function listMyIdentities(signal?: AbortSignal): Promise<MyIdentities> {
  return request<MyIdentities>("GET", "/api/me/identities", { signal });
}

/** Where the browser goes to connect a provider account (needs a recent login: `reauthentication_required`). */
export async function linkProvider(provider: string, returnTo = "/account"): Promise<string> {
  const { redirect } = await request<{ redirect: string }>("POST", `/api/federation/${encodeURIComponent(provider)}/link`, {
    json: { return_to: returnTo },
  });
  return redirect;
}

/** Step-up for accounts without a password: a fresh login at the provider renews the session's authentication. */
export async function reauthenticateWithProvider(provider: string, returnTo = "/account"): Promise<string> {
  const { redirect } = await request<{ redirect: string }>(
    "POST",
    `/api/federation/${encodeURIComponent(provider)}/reauthenticate`,
    { json: { return_to: returnTo } },
  );
  return redirect;
}

/** 409 `last_credential` when it is the account's only way to log in. */
export function unlinkIdentity(id: Identity["id"]): Promise<void> {
  return request<void>("DELETE", `/api/me/identities/${encodeURIComponent(String(id))}`);
}

export interface UserIdentities {
  identities: Identity[];
  /** Sent by servers that say whether the user has a password too. */
  has_password?: boolean;
}

export function listUserIdentities(user: UserId, signal?: AbortSignal): Promise<UserIdentities> {
  return request<UserIdentities>("GET", `/api/users/${user}/identities`, { signal });
}

/** 409 `last_credential` when it is the user's only way to log in. */
export function removeUserIdentity(user: UserId, id: Identity["id"]): Promise<void> {
  return request<void>("DELETE", `/api/users/${user}/identities/${encodeURIComponent(String(id))}`);
}
