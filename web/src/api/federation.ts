// Inbound federation: logging in with an account at an identity provider
// ("Continue with …") and connecting such accounts to this one.

import type { components, User } from "@latchkey/client";
import { api, latchkey } from "./client";

/** An account at an identity provider that logs in to this latchkey account. */
export type Identity = components["schemas"]["Identity"];
export type MyIdentities = components["schemas"]["Identities"];

/**
 * Where "Continue with …" goes: a full-page navigation to latchkey, which
 * answers with a redirect to the provider. `returnTo` must already be a
 * same-site path (see `safeNext`); the server refuses anything else.
 */
export function federationStartUrl(provider: string, returnTo: string): string {
  return latchkey.providerLoginUrl(provider, { next: returnTo });
}

/** What `POST /api/federation/continue` finishes: a login, a link, or a step-up. */
export type ContinueOutcome =
  | { kind: "login"; user: User }
  | { kind: "linked"; identity: Identity; returnTo: string | undefined }
  | { kind: "reauthenticated"; returnTo: string | undefined };

/**
 * Finishes the flow the provider's callback recorded for this browser. It
 * answers like `POST /api/login`: a login may reject with
 * `second_factor_required` (finish it with `loginSecondFactor`). The flow is
 * single use: a second call rejects with `federation_expired`.
 */
export async function continueFederation(): Promise<ContinueOutcome> {
  const body: object = await api.POST("/api/federation/continue", { body: { mode: "session" } });
  if ("linked" in body) {
    const linked = body as components["schemas"]["Linked"];
    return { kind: "linked", identity: linked.linked, returnTo: linked.return_to };
  }
  if ("reauthenticated" in body) {
    return { kind: "reauthenticated", returnTo: (body as components["schemas"]["ReauthenticatedByProvider"]).return_to };
  }
  return { kind: "login", user: body as User };
}

export function listMyIdentities(signal?: AbortSignal): Promise<MyIdentities> {
  return api.GET("/api/me/identities", { signal });
}

/** Where the browser goes to connect a provider account (needs a recent login: `reauthentication_required`). */
export async function linkProvider(provider: string, returnTo = "/account"): Promise<string> {
  const { redirect } = await api.POST("/api/federation/{provider}/link", {
    params: { path: { provider } },
    body: { return_to: returnTo },
  });
  return redirect;
}

/** Step-up for accounts without a password: a fresh login at the provider renews the session's authentication. */
export async function reauthenticateWithProvider(provider: string, returnTo = "/account"): Promise<string> {
  const { redirect } = await api.POST("/api/federation/{provider}/reauthenticate", {
    params: { path: { provider } },
    body: { return_to: returnTo },
  });
  return redirect;
}

/** 409 `last_credential` when it is the account's only way to log in. */
export function unlinkIdentity(id: Identity["id"]): Promise<void> {
  return api.DELETE("/api/me/identities/{id}", { params: { path: { id } } });
}

export type UserIdentities = components["schemas"]["Identities"];

export function listUserIdentities(user: User["id"], signal?: AbortSignal): Promise<UserIdentities> {
  return api.GET("/api/users/{id}/identities", { params: { path: { id: user } }, signal });
}

/** 409 `last_credential` when it is the user's only way to log in. */
export function removeUserIdentity(user: User["id"], id: Identity["id"]): Promise<void> {
  return api.DELETE("/api/users/{id}/identities/{identity_id}", { params: { path: { id: user, identity_id: id } } });
}
