import type { components, User } from "@latchkey/client";
import { api, present } from "./client";

export type UserId = User["id"];
export type UsersPage = components["schemas"]["UsersResponse"];
export type AuditPage = components["schemas"]["AuditResponse"];
export type AuditEvent = components["schemas"]["AuditEvent"];

export function listUsers(query: { limit?: number; after?: UserId | null } = {}, signal?: AbortSignal): Promise<UsersPage> {
  return api.GET("/api/users", { params: { query: present(query) }, signal });
}

export function getUser(id: UserId, signal?: AbortSignal): Promise<User> {
  return api.GET("/api/users/{id}", { params: { path: { id } }, signal });
}

export function setUserRoles(id: UserId, roles: string[]): Promise<User> {
  return api.PUT("/api/users/{id}/roles", { params: { path: { id } }, body: { roles } });
}

export function revokeUserSessions(id: UserId): Promise<void> {
  return api.DELETE("/api/users/{id}/sessions", { params: { path: { id } } });
}

export function deleteUser(id: UserId): Promise<void> {
  return api.DELETE("/api/users/{id}", { params: { path: { id } } });
}

export function listAudit(query: { limit?: number; before?: number | null } = {}, signal?: AbortSignal): Promise<AuditPage> {
  return api.GET("/api/audit", { params: { query: present(query) }, signal });
}
