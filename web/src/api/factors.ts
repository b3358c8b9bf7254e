import type { components } from "@latchkey/client";
import { api } from "./client";

export type SecondFactors = components["schemas"]["SecondFactors"];
export type TotpEnrolment = components["schemas"]["TotpEnrolment"];
export type RecoveryCodes = components["schemas"]["RecoveryCodes"];
type DisableTotpRequest = components["schemas"]["DisableTotpRequest"];

export function mySecondFactors(signal?: AbortSignal): Promise<SecondFactors> {
  return api.GET("/api/me/second-factors", { signal });
}

export function beginTotp(): Promise<TotpEnrolment> {
  return api.POST("/api/me/totp");
}

export function confirmTotp(code: string): Promise<RecoveryCodes> {
  return api.POST("/api/me/totp/confirm", { body: { code } });
}

/**
 * An account without a password sends none (`undefined`): a recent login at
 * its provider stands in for it, else `reauthentication_required`.
 */
export async function disableTotp(password: string | undefined, proof: { code: string } | { recovery_code: string }): Promise<void> {
  // The document marks `password` required; an account without one may leave it out.
  const body = (password === undefined ? proof : { password, ...proof }) as DisableTotpRequest;
  await api.POST("/api/me/totp/disable", { body });
}

export function regenerateRecoveryCodes(): Promise<RecoveryCodes> {
  return api.POST("/api/me/recovery-codes");
}

/** Renews the session's authentication time so sensitive changes are allowed again. */
export async function reauthenticate(password: string): Promise<void> {
  await api.POST("/api/reauthenticate", { body: { password } });
}
