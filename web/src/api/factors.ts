import { request } from "./client";

export interface SecondFactors {
  totp_enabled: boolean;
  totp_pending: boolean;
  recovery_codes_left: number;
  methods: string[];
}

export interface TotpEnrolment {
  /** Base32, for typing into an app that cannot scan. */
  secret: string;
  /** The `otpauth://` URI the QR code carries. */
  otpauth_url: string;
}

export interface RecoveryCodes {
  recovery_codes: string[];
}

export function mySecondFactors(signal?: AbortSignal): Promise<SecondFactors> {
  return request<SecondFactors>("GET", "/api/me/second-factors", { signal });
}

export function beginTotp(): Promise<TotpEnrolment> {
  return request<TotpEnrolment>("POST", "/api/me/totp");
}

export function confirmTotp(code: string): Promise<RecoveryCodes> {
  return request<RecoveryCodes>("POST", "/api/me/totp/confirm", { json: { code } });
}

/**
 * An account without a password sends none (`undefined`): a recent login at
 * its provider stands in for it, else `reauthentication_required`.
 */
export function disableTotp(password: string | undefined, proof: { code: string } | { recovery_code: string }): Promise<void> {
  return request<void>("POST", "/api/me/totp/disable", { json: password === undefined ? proof : { password, ...proof } });
}

export function regenerateRecoveryCodes(): Promise<RecoveryCodes> {
  return request<RecoveryCodes>("POST", "/api/me/recovery-codes");
}

/** Renews the session's authentication time so sensitive changes are allowed again. */
export function reauthenticate(password: string): Promise<void> {
  return request<void>("POST", "/api/reauthenticate", { json: { password } });
}
