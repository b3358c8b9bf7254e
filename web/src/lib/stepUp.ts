// What the app carries across a round trip to an identity provider. The trip
// leaves the app, so state lives in the navigation that brings the user back
// (router state, which only this app's scripts can set) and, for an action to
// finish afterwards, in this tab's sessionStorage.

/** Router state of the navigation from /login/federated to `return_to`. */
export interface FederationReturnState {
  /** Shown once on the page returned to, e.g. "Connected GitHub." */
  notice?: string;
  /** The provider has just confirmed it is you: the step-up window is open again. */
  reauthenticated?: boolean;
}

export function federationReturnState(state: unknown): FederationReturnState {
  if (!state || typeof state !== "object") return {};
  const { notice, reauthenticated } = state as Record<string, unknown>;
  return {
    ...(typeof notice === "string" ? { notice } : {}),
    ...(reauthenticated === true ? { reauthenticated: true } : {}),
  };
}

/** A sensitive action refused for want of a recent login, to retry once the provider has confirmed it is you. */
export type PendingAction = { kind: "link"; provider: string } | { kind: "unlink"; identity: number; label: string };

const KEY = "latchkey.afterStepUp";

export function rememberPendingAction(action: PendingAction): void {
  try {
    sessionStorage.setItem(KEY, JSON.stringify(action));
  } catch {
    // Storage switched off: the user simply starts the action again.
  }
}

/** The remembered action, forgotten as it is read so it runs at most once. */
export function takePendingAction(): PendingAction | null {
  let text: string | null;
  try {
    text = sessionStorage.getItem(KEY);
    sessionStorage.removeItem(KEY);
  } catch {
    return null;
  }
  if (text === null) return null;
  try {
    const value: unknown = JSON.parse(text);
    if (!value || typeof value !== "object") return null;
    const action = value as Record<string, unknown>;
    if (action.kind === "link" && typeof action.provider === "string") return { kind: "link", provider: action.provider };
    if (action.kind === "unlink" && typeof action.identity === "number" && typeof action.label === "string") {
      return { kind: "unlink", identity: action.identity, label: action.label };
    }
  } catch {
    // Not ours, or from an older build: ignore it.
  }
  return null;
}
