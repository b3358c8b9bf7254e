import type { components, User } from "@latchkey/client";
import { api } from "./client";

/** One entry of `GET /api/me/sessions`: a browser session or a token login. `id` is unique only within its `kind`. */
export type Session = components["schemas"]["SessionInfo"];

export function changePassword(currentPassword: string, newPassword: string): Promise<void> {
  return api.PUT("/api/me/password", { body: { current_password: currentPassword, new_password: newPassword } });
}

export function listMySessions(signal?: AbortSignal): Promise<Session[]> {
  return api.GET("/api/me/sessions", { signal });
}

export function revokeMySession(id: Session["id"]): Promise<void> {
  return api.DELETE("/api/me/sessions/{id}", { params: { path: { id } } });
}

export function revokeMyTokenLogin(id: Session["id"]): Promise<void> {
  return api.DELETE("/api/me/token-logins/{id}", { params: { path: { id } } });
}

/** Ends every other browser session and every token login, keeping only this browser's session. */
export function revokeMyOtherSessions(): Promise<void> {
  return api.DELETE("/api/me/sessions");
}

export const AVATAR_TYPES = ["image/png", "image/jpeg", "image/gif"] as const;
export const AVATAR_MAX_BYTES = 5 * 1024 * 1024;

export function uploadAvatar(file: Blob): Promise<void> {
  return api.PUT("/api/me/avatar", { body: file });
}

/**
 * Public URL of a user's avatar. `version` changes after an upload so the
 * browser fetches the new picture instead of reusing the one it has cached.
 */
export function avatarUrl(id: User["id"], version?: number): string {
  const base = `/api/users/${id}/avatar`;
  return version ? `${base}?v=${version}` : base;
}
