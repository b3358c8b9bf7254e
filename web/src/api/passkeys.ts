import type { AssertionJSON, CreationOptionsJSON, RegistrationJSON, RequestOptionsJSON } from "../lib/webauthn";
import { request } from "./client";
import type { Passkey, User } from "./types";

/** A WebAuthn ceremony the server started: `ceremony` names it when the browser's answer is sent back. */
export interface Ceremony<Options> {
  ceremony: string;
  options: { publicKey: Options };
}

export async function listMyPasskeys(signal?: AbortSignal): Promise<Passkey[]> {
  return (await request<{ passkeys: Passkey[] }>("GET", "/api/me/passkeys", { signal })).passkeys;
}

/** May reject with `reauthentication_required` when the login is older than the step-up window. */
export function beginPasskeyRegistration(): Promise<Ceremony<CreationOptionsJSON>> {
  return request<Ceremony<CreationOptionsJSON>>("POST", "/api/me/passkeys/registration", { json: {} });
}

export function finishPasskeyRegistration(ceremony: string, name: string, credential: RegistrationJSON): Promise<Passkey> {
  return request<Passkey>("POST", "/api/me/passkeys", { json: { ceremony, name, credential } });
}

export function deletePasskey(id: Passkey["id"]): Promise<void> {
  return request<void>("DELETE", `/api/me/passkeys/${encodeURIComponent(String(id))}`);
}

/** Starts a login with any passkey of this site: the browser lets the user pick one. */
export function passkeyLoginOptions(): Promise<Ceremony<RequestOptionsJSON>> {
  return request<Ceremony<RequestOptionsJSON>>("POST", "/api/login/passkey/options", { json: {} });
}

/** Answers the user and sets the session cookie, exactly like a password login. */
export function loginWithPasskey(ceremony: string, credential: AssertionJSON): Promise<User> {
  return request<User>("POST", "/api/login/passkey", { json: { ceremony, credential } });
}

/** Starts confirming it is you with one of your passkeys (404 `not_found` when you have none). */
export function passkeyReauthenticationOptions(): Promise<Ceremony<RequestOptionsJSON>> {
  return request<Ceremony<RequestOptionsJSON>>("POST", "/api/reauthenticate/passkey/options", { json: {} });
}

/** Renews the session's authentication time, as `reauthenticate` does with the password. */
export function reauthenticateWithPasskey(ceremony: string, credential: AssertionJSON): Promise<void> {
  return request<void>("POST", "/api/reauthenticate/passkey", { json: { ceremony, credential } });
}
