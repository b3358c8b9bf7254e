import type { Passkey, User } from "@latchkey/client";
import type { AssertionJSON, CreationOptionsJSON, RegistrationJSON, RequestOptionsJSON } from "../lib/webauthn";
import { api } from "./client";

export type { Passkey };

/** A WebAuthn ceremony the server started: `ceremony` names it when the browser's answer is sent back. */
export interface Ceremony<Options> {
  ceremony: string;
  options: { publicKey: Options };
}

export async function listMyPasskeys(signal?: AbortSignal): Promise<Passkey[]> {
  return (await api.GET("/api/me/passkeys", { signal })).passkeys;
}

/** May reject with `reauthentication_required` when the login is older than the step-up window. */
export async function beginPasskeyRegistration(): Promise<Ceremony<CreationOptionsJSON>> {
  return (await api.POST("/api/me/passkeys/registration")) as unknown as Ceremony<CreationOptionsJSON>;
}

export function finishPasskeyRegistration(ceremony: string, name: string, credential: RegistrationJSON): Promise<Passkey> {
  return api.POST("/api/me/passkeys", { body: { ceremony, name, credential } });
}

export function deletePasskey(id: Passkey["id"]): Promise<void> {
  return api.DELETE("/api/me/passkeys/{id}", { params: { path: { id } } });
}

/** Starts a login with any passkey of this site: the browser lets the user pick one. */
export async function passkeyLoginOptions(): Promise<Ceremony<RequestOptionsJSON>> {
  return (await api.POST("/api/login/passkey/options")) as unknown as Ceremony<RequestOptionsJSON>;
}

/** Answers the user and sets the session cookie, exactly like a password login. */
export function loginWithPasskey(ceremony: string, credential: AssertionJSON): Promise<User> {
  return api.POST("/api/login/passkey", { body: { ceremony, credential } });
}

/** Starts confirming it is you with one of your passkeys (404 `not_found` when you have none). */
export async function passkeyReauthenticationOptions(): Promise<Ceremony<RequestOptionsJSON>> {
  return (await api.POST("/api/reauthenticate/passkey/options")) as unknown as Ceremony<RequestOptionsJSON>;
}

/** Renews the session's authentication time, as `reauthenticate` does with the password. */
export async function reauthenticateWithPasskey(ceremony: string, credential: AssertionJSON): Promise<void> {
  await api.POST("/api/reauthenticate/passkey", { body: { ceremony, credential } });
}
