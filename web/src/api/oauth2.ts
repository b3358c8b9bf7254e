// latchkey as an OpenID Provider: the sign-in requests of other apps (login
// and consent pages), the apps a user allowed, and the apps an admin registered.

import type { components } from "@latchkey/client";
import { api } from "./client";

/** A scope an app can ask for (`scopes_supported`); a newer server may know others. */
export type Scope = components["schemas"]["ScopeName"] | (string & {});
export type IdTokenAlg = "RS256" | "EdDSA";
/** An app registered to log its users in with latchkey (an OAuth 2.0 / OpenID Connect client). */
export type OAuthClient = components["schemas"]["OAuthClient"];
/** `POST /api/oauth2/clients` and a new secret: the only answers that hold `client_secret`. */
export type NewOAuthClient = components["schemas"]["WithSecret"];
export type ClientSecret = NewOAuthClient;
/** An app's pending sign-in, stored by `/oauth2/authorize` while the user logs in or decides. */
export type OAuthRequest = components["schemas"]["RequestInfo"];
/** Where the browser goes after Allow or Deny: back to the app with a code or an error. */
export type OAuthDecision = components["schemas"]["RedirectTo"];
/** An app the user allowed, remembered so it is not asked again. */
export type Grant = components["schemas"]["Consent"];

/** Needs no login. 404 `not_found` once the request has expired (10 minutes) or was used. */
export function getOAuthRequest(id: string, signal?: AbortSignal): Promise<OAuthRequest> {
  return api.GET("/api/oauth2/requests/{id}", { params: { path: { id } }, signal });
}

/**
 * Allows the app and remembers it for these scopes; the request is used up.
 * 401 `unauthorized` without a session, 401 `login_required` while the
 * request still wants a fresher login.
 */
export function acceptOAuthRequest(id: string): Promise<OAuthDecision> {
  return api.POST("/api/oauth2/requests/{id}/accept", { params: { path: { id } } });
}

export function denyOAuthRequest(id: string): Promise<OAuthDecision> {
  return api.POST("/api/oauth2/requests/{id}/deny", { params: { path: { id } } });
}

export async function listMyGrants(signal?: AbortSignal): Promise<Grant[]> {
  return (await api.GET("/api/me/grants", { signal })).grants;
}

/** The app must ask again, and its refresh tokens for this user end. */
export function revokeMyGrant(id: Grant["id"]): Promise<void> {
  return api.DELETE("/api/me/grants/{id}", { params: { path: { id } } });
}

export async function listClients(signal?: AbortSignal): Promise<OAuthClient[]> {
  return (await api.GET("/api/oauth2/clients", { signal })).clients;
}

export type NewClientInput = components["schemas"]["NewClientRequest"];

/** 422 `validation_failed` with `fields` for bad input; a confidential client's secret is in this answer only. */
export function createClient(input: NewClientInput): Promise<NewOAuthClient> {
  return api.POST("/api/oauth2/clients", { body: input });
}

/** Its grants, codes and refresh tokens go with it. */
export function deleteClient(clientId: string): Promise<void> {
  return api.DELETE("/api/oauth2/clients/{client_id}", { params: { path: { client_id: clientId } } });
}

/** The old secret stops working at once; the new one is in this answer only. */
export function rotateClientSecret(clientId: string): Promise<ClientSecret> {
  return api.POST("/api/oauth2/clients/{client_id}/secret", { params: { path: { client_id: clientId } } });
}
