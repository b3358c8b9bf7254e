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
  /** With `reauthenticated`: the change that round trip interrupted, to finish now. */
  resume?: PendingAction;
}

export function federationReturnState(state: unknown): FederationReturnState {
  if (!state || typeof state !== "object") return {};
  const { notice, reauthenticated, resume } = state as Record<string, unknown>;
  const action = reauthenticated === true ? pendingAction(resume) : null;
  return {
    ...(typeof notice === "string" ? { notice } : {}),
    ...(reauthenticated === true ? { reauthenticated: true } : {}),
    ...(action ? { resume: action } : {}),
  };
}

/**
 * A sensitive action refused for want of a recent login, to retry once the
 * provider has confirmed it is you. Turning the authenticator app off keeps
 * no code: the app shows a new one by the time the user is back, and a
 * recovery code is not to be left lying in storage; the form opens again.
 */
export type PendingAction =
  | { kind: "link"; provider: string }
  | { kind: "unlink"; identity: number; label: string }
  | { kind: "change_email"; new_email: string }
  | { kind: "disable_totp" };

const KEY = "latchkey.afterStepUp";

export function rememberPendingAction(action: PendingAction): void {
  try {
    sessionStorage.setItem(KEY, JSON.stringify(action));
  } catch {
    // Storage switched off: the user simply starts the action again.
  }
}

/**
 * Forgets any remembered action: a round trip to the provider for something
 * else must not finish an older, abandoned one on its return.
 */
export function forgetPendingAction(): void {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // Storage switched off: nothing was remembered either.
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
    return pendingAction(JSON.parse(text));
  } catch {
    // Not ours: ignore it.
    return null;
  }
}

/** `value` as a PendingAction, or null when it is not one (not ours, or from an older build). */
function pendingAction(value: unknown): PendingAction | null {
  if (!value || typeof value !== "object") return null;
  const action = value as Record<string, unknown>;
  if (action.kind === "link" && typeof action.provider === "string") return { kind: "link", provider: action.provider };
  if (action.kind === "unlink" && typeof action.identity === "number" && typeof action.label === "string") {
    return { kind: "unlink", identity: action.identity, label: action.label };
  }
  if (action.kind === "change_email" && typeof action.new_email === "string") {
    return { kind: "change_email", new_email: action.new_email };
  }
  if (action.kind === "disable_totp") return { kind: "disable_totp" };
  return null;
}
