
const KINDS: Record<string, { label: string; warn?: boolean }> = {
  signup: { label: "Signed up" },
  login_succeeded: { label: "Logged in" },
  login_failed: { label: "Failed login", warn: true },
  login_throttled: { label: "Login throttled", warn: true },
  logout: { label: "Logged out" },
  token_issued: { label: "Token issued" },
  token_refreshed: { label: "Token refreshed" },
  token_reuse_detected: { label: "Refresh token reused", warn: true },
  password_changed: { label: "Password changed" },
  session_revoked: { label: "Session ended" },
  roles_changed: { label: "Roles changed" },
  user_deleted: { label: "Account deleted", warn: true },
  second_factor_required: { label: "Password accepted, code asked" },
  second_factor_failed: { label: "Wrong second-factor code", warn: true },
  totp_enabled: { label: "Authenticator app turned on" },
  totp_disabled: { label: "Authenticator app turned off", warn: true },
  recovery_codes_regenerated: { label: "New recovery codes" },
  recovery_code_used: { label: "Recovery code used" },
  second_factor_removed: { label: "Second factor removed by an admin", warn: true },
  reauthenticated: { label: "Confirmed password" },
  email_verification_sent: { label: "Verification mailed" },
  email_verified: { label: "Email verified" },
  password_reset_requested: { label: "Password reset requested" },
  password_reset: { label: "Password reset", warn: true },
  email_change_requested: { label: "Email change requested" },
  email_changed: { label: "Email changed", warn: true },
  passkey_added: { label: "Passkey added" },
  passkey_removed: { label: "Passkey removed", warn: true },
  federated_login_failed: { label: "Failed login through a provider", warn: true },
  identity_linked: { label: "Provider account connected" },
  identity_unlinked: { label: "Provider account disconnected", warn: true },
  app_authorized: { label: "App allowed" },
  app_access_revoked: { label: "App access revoked" },
  oauth_client_changed: { label: "App registration changed", warn: true },
};

export function describeKind(kind: string): { label: string; warn: boolean } {
  const known = KINDS[kind];
  return known ? { label: known.label, warn: known.warn ?? false } : { label: kind.replace(/_/g, " "), warn: false };
}

/** The free-form `detail` as one readable line ("username: ada; roles: user, admin"). */
export function describeDetail(detail: unknown): string {
  if (detail === null || detail === undefined || detail === "") return "";
  if (typeof detail !== "object") return String(detail);
  if (Array.isArray(detail)) return detail.map((item) => describeDetail(item)).join(", ");
  return Object.entries(detail)
    .map(([key, value]) => `${key.replace(/_/g, " ")}: ${describeDetail(value) || "—"}`)
    .join("; ");
}
