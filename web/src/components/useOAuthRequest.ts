import { useResource } from "@latchkey/client/react";
import { errorMessage, isApiError } from "../api/client";
import { getOAuthRequest } from "../api/oauth2";
import type { OAuthRequest } from "../api/oauth2";

export type OAuthRequestState =
  | { kind: "loading" }
  | { kind: "ready"; request: OAuthRequest }
  /** Unknown, expired (they live ten minutes) or already answered: only the app can start a new one. */
  | { kind: "expired" }
  | { kind: "failed"; message: string; retry: () => void };

/** The app's sign-in request named by `?oauth=` on the login and consent pages; `null` id is an expired one. */
export function useOAuthRequest(id: string | null): OAuthRequestState {
  const loaded = useResource(id ? (signal) => getOAuthRequest(id, signal) : null, [id]);
  if (!id || isApiError(loaded.error, "not_found")) return { kind: "expired" };
  if (loaded.error) return { kind: "failed", message: errorMessage(loaded.error), retry: loaded.reload };
  if (loaded.data === undefined) return { kind: "loading" };
  return { kind: "ready", request: loaded.data };
}
