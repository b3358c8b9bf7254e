import { request } from "./client";
import { query } from "./query";
import type { AuditPage, User, UserId, UsersPage } from "./types";

export function listUsers(params: { limit?: number; after?: UserId | null } = {}): Promise<UsersPage> {
  return request<UsersPage>("GET", `/api/users${query(params)}`);
}

export function getUser(id: UserId): Promise<User> {
  return request<User>("GET", `/api/users/${id}`);
}

export function setUserRoles(id: UserId, roles: string[]): Promise<User> {
  return request<User>("PUT", `/api/users/${id}/roles`, { json: { roles } });
}

export function revokeUserSessions(id: UserId): Promise<void> {
  return request<void>("DELETE", `/api/users/${id}/sessions`);
}

export function deleteUser(id: UserId): Promise<void> {
  return request<void>("DELETE", `/api/users/${id}`);
}

export function listAudit(params: { limit?: number; before?: number | null } = {}): Promise<AuditPage> {
  return request<AuditPage>("GET", `/api/audit${query(params)}`);
}
