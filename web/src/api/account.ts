import { request } from "./client";
import type { Session, UserId } from "./types";

export function changePassword(currentPassword: string, newPassword: string): Promise<void> {
  return request<void>("PUT", "/api/me/password", {
    json: { current_password: currentPassword, new_password: newPassword },
  });
}

export function listMySessions(): Promise<Session[]> {
  return request<Session[]>("GET", "/api/me/sessions");
}

export function revokeMySession(id: Session["id"]): Promise<void> {
  return request<void>("DELETE", `/api/me/sessions/${encodeURIComponent(String(id))}`);
}

export function revokeMyTokenLogin(id: Session["id"]): Promise<void> {
  return request<void>("DELETE", `/api/me/token-logins/${encodeURIComponent(String(id))}`);
}

/** Ends every other browser session and every token login, keeping only this browser's session. */
export function revokeMyOtherSessions(): Promise<void> {
  return request<void>("DELETE", "/api/me/sessions");
}

export const AVATAR_TYPES = ["image/png", "image/jpeg", "image/gif"] as const;
export const AVATAR_MAX_BYTES = 5 * 1024 * 1024;

export function uploadAvatar(file: Blob): Promise<void> {
  return request<void>("PUT", "/api/me/avatar", { body: file, contentType: file.type });
}

/**
 * Public URL of a user's avatar. `version` changes after an upload so the
 * browser fetches the new picture instead of reusing the one it has cached.
 */
export function avatarUrl(id: UserId, version?: number): string {
  const base = `/api/users/${id}/avatar`;
  return version ? `${base}?v=${version}` : base;
}
