import { vi } from "vitest";

export interface RecordedRequest {
  method: string;
  path: string;
  init: RequestInit;
  json: unknown;
}

type Handler = (request: RecordedRequest) => Response | Promise<Response>;

/**
 * Replaces `fetch` with a table of "METHOD /path" handlers (query string
 * included when the key has one). A request with no handler fails the test
 * loudly instead of hanging, so a page calling an unexpected endpoint is seen.
 */
export function mockFetch(handlers: Record<string, Handler>) {
  const requests: RecordedRequest[] = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = new URL(String(input), "http://localhost");
    const method = (init.method ?? "GET").toUpperCase();
    const json = typeof init.body === "string" ? JSON.parse(init.body) : undefined;
    const request = { method, path: url.pathname + url.search, init, json };
    requests.push(request);
    const handler = handlers[`${method} ${url.pathname}${url.search}`] ?? handlers[`${method} ${url.pathname}`];
    if (!handler) throw new Error(`unexpected request ${method} ${request.path}`);
    return handler(request);
  });
  vi.stubGlobal("fetch", fetchMock);
  return { requests, fetchMock };
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
}

export function noContent(): Response {
  return new Response(null, { status: 204 });
}

export function apiError(status: number, error: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): Response {
  return json({ error, message: `server says ${error}`, ...extra }, status, headers);
}

export const ada = { id: 7, username: "ada", email: null, email_verified: false, roles: ["user"], created_at: "2026-11-22T12:00:00Z" };
export const root = {
  id: 1,
  username: "root",
  email: "root@example.com",
  email_verified: true,
  roles: ["user", "admin"],
  created_at: "2026-11-01T09:00:00Z",
};

/** An app's sign-in request as `GET /api/oauth2/requests/{id}` answers for a visitor who must log in first. */
export const oauthRequest = {
  id: "r".repeat(43),
  client: { client_id: "notes-app", name: "Notes" },
  scopes: ["openid", "email", "profile"],
  login_required: true,
  consent_required: true,
  login_hint: null,
};
