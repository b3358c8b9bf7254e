import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import * as authApi from "../api/auth";
import { ApiError, onUnauthorized } from "../api/client";
import type { User } from "@latchkey/client";

export type AuthState =
  | { status: "loading" }
  | { status: "failed"; error: ApiError }
  | {
      status: "ready";
      user: User | null;
      /** Why there is no user any more: the login page words its greeting after it. */
      ended?: "logged_out" | "session_ended";
    };

export interface Auth {
  state: AuthState;
  /** The user when known, null while loading, anonymous or failed. */
  user: User | null;
  /** Records the user a login or signup answered with. */
  signedIn: (user: User) => void;
  /** Replaces the user after an admin changed their own roles. */
  updateUser: (user: User) => void;
  logOut: () => Promise<void>;
  retry: () => void;
}

const AuthContext = createContext<Auth | null>(null);

/**
 * Asks the server once per page load who is logged in; the HttpOnly cookie is
 * the only credential, so there is nothing to read or store in the browser.
 */
export function AuthProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<AuthState>({ status: "loading" });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    authApi.checkSession(controller.signal).then(
      (user) => setState({ status: "ready", user }),
      (error: unknown) => {
        if (controller.signal.aborted) return;
        setState({
          status: "failed",
          error: error instanceof ApiError ? error : new ApiError({ status: 0, code: "network_error", message: String(error) }),
        });
      },
    );
    return () => controller.abort();
  }, [attempt]);

  // A session can end behind this tab's back (password changed elsewhere,
  // revoked by an admin); the next 401 drops the user and the guards send
  // them to the login page.
  useEffect(
    () =>
      onUnauthorized(() =>
        setState((current) =>
          current.status === "ready" && current.user ? { status: "ready", user: null, ended: "session_ended" } : current,
        ),
      ),
    [],
  );

  const signedIn = useCallback((user: User) => setState({ status: "ready", user }), []);
  const updateUser = useCallback(
    (user: User) => setState((current) => (current.status === "ready" && current.user ? { ...current, user } : current)),
    [],
  );
  const logOut = useCallback(async () => {
    await authApi.logout();
    setState({ status: "ready", user: null, ended: "logged_out" });
  }, []);
  const retry = useCallback(() => {
    setState({ status: "loading" });
    setAttempt((n) => n + 1);
  }, []);

  const value = useMemo<Auth>(
    () => ({
      state,
      user: state.status === "ready" ? state.user : null,
      signedIn,
      updateUser,
      logOut,
      retry,
    }),
    [state, signedIn, updateUser, logOut, retry],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (!auth) throw new Error("useAuth must be used inside <AuthProvider>");
  return auth;
}

export function hasRole(user: User | null, role: string): boolean {
  return user?.roles.includes(role) ?? false;
}
