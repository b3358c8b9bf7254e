// latchkey as an OpenID Provider: the sign-in requests of other apps (login
// and consent pages), the apps a user allowed, and the apps an admin registered.

import { request } from "./client";
import type { ClientSecret, Grant, IdTokenAlg, NewOAuthClient, OAuthClient, OAuthDecision, OAuthRequest, Scope } from "./types";

const requestPath = (id: string) => `/api/oauth2/requests/${encodeURIComponent(id)}`;
const clientPath = (clientId: string) => `/api/oauth2/clients/${encodeURIComponent(clientId)}`;

/** Needs no login. 404 `not_found` once the request has expired (10 minutes) or was used. */
export function getOAuthRequest(id: string, signal?: AbortSignal): Promise<OAuthRequest> {
  return request<OAuthRequest>("GET", requestPath(id), { signal });
}

/**
 * Allows the app and remembers it for these scopes; the request is used up.
 * 401 `unauthorized` without a session, 401 `login_required` while the
 * request still wants a fresher login.
 */
export function acceptOAuthRequest(id: string): Promise<OAuthDecision> {
  return request<OAuthDecision>("POST", `${requestPath(id)}/accept`);
}

export function denyOAuthRequest(id: string): Promise<OAuthDecision> {
  return request<OAuthDecision>("POST", `${requestPath(id)}/deny`);
}

export async function listMyGrants(signal?: AbortSignal): Promise<Grant[]> {
  const { grants } = await request<{ grants: Grant[] }>("GET", "/api/me/grants", { signal });
  return grants;
}

/** The app must ask again, and its refresh tokens for this user end. */
export function revokeMyGrant(id: Grant["id"]): Promise<void> {
  return request<void>("DELETE", `/api/me/grants/${encodeURIComponent(String(id))}`);
}

export async function listClients(signal?: AbortSignal): Promise<OAuthClient[]> {
  const { clients } = await request<{ clients: OAuthClient[] }>("GET", "/api/oauth2/clients", { signal });
  return clients;
}

export interface NewClientInput {
  name: string;
  redirect_uris: string[];
  post_logout_redirect_uris?: string[];
  public?: boolean;
  scopes?: Scope[];
  skip_consent?: boolean;
  id_token_signed_response_alg?: IdTokenAlg;
}

/** 422 `validation_failed` with `fields` for bad input; a confidential client's secret is in this answer only. */
export function createClient(input: NewClientInput): Promise<NewOAuthClient> {
  return request<NewOAuthClient>("POST", "/api/oauth2/clients", { json: input });
}

/** Its grants, codes and refresh tokens go with it. */
export function deleteClient(clientId: string): Promise<void> {
  return request<void>("DELETE", clientPath(clientId));
}

/** The old secret stops working at once; the new one is in this answer only. */
export function rotateClientSecret(clientId: string): Promise<ClientSecret> {
  return request<ClientSecret>("POST", `${clientPath(clientId)}/secret`);
}
