// React bindings: one provider holding the session, a hook to read it, a
// guard for routes, and a hook for data loaded when a component mounts.

import { createContext, useCallback, useContext, useEffect, useRef, useState, type DependencyList, type ReactNode } from "react";
import type { LatchkeyClient } from "./client.js";
import type { User } from "./types.js";

export type SessionStatus = "loading" | "authenticated" | "anonymous";

export interface SessionState {
  user: User | null;
  status: SessionStatus;
  client: LatchkeyClient;
  /** Set when asking the server for the session failed (unreachable, 5xx); `status` is then "anonymous". */
  error: unknown;
  /** Asks the server again, e.g. after a failed first try. */
  refresh: () => Promise<void>;
}

const SessionContext = createContext<SessionState | null>(null);

/** Asks for the session once on mount and follows every later change (logins, logouts, other tabs). */
export function LatchkeyProvider({ client, children }: { client: LatchkeyClient; children?: ReactNode }) {
  const [user, setUser] = useState<User | null>(client.user);
  const [status, setStatus] = useState<SessionStatus>("loading");
  const [error, setError] = useState<unknown>(undefined);

  const refresh = useCallback(async () => {
    try {
      const current = await client.getSession();
      setError(undefined);
      setUser(current);
      setStatus(current ? "authenticated" : "anonymous");
    } catch (failure) {
      setError(failure);
      setStatus("anonymous");
    }
  }, [client]);

  useEffect(() => {
    const stop = client.onChange((next) => {
      setUser(next);
      setStatus(next ? "authenticated" : "anonymous");
    });
    void refresh();
    return stop;
  }, [client, refresh]);

  return <SessionContext.Provider value={{ user, status, client, error, refresh }}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionState {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession must be used inside <LatchkeyProvider>");
  return session;
}

/**
 * Shows `children` to a logged-in user (with `role`, when given), `fallback`
 * to anyone else, `forbidden` to a user without the role, and `loading`
 * while the session is not known yet.
 */
export function RequireAuth({
  children,
  fallback = null,
  role,
  forbidden = null,
  loading = null,
}: {
  children?: ReactNode;
  fallback?: ReactNode;
  role?: string;
  forbidden?: ReactNode;
  loading?: ReactNode;
}) {
  const { user, status } = useSession();
  if (status === "loading") return <>{loading}</>;
  if (!user) return <>{fallback}</>;
  if (role !== undefined && !user.roles.includes(role)) return <>{forbidden}</>;
  return <>{children}</>;
}

export interface Resource<T> {
  /** The last answer; kept while a reload runs and after a failed one. */
  data: T | undefined;
  /** The last load's failure; cleared when the next load starts. */
  error: unknown;
  loading: boolean;
  /** Loads again. */
  reload: () => void;
  /** Changes the loaded data in place, after a change the server has confirmed. */
  update: (change: (data: T) => T) => void;
}

interface ResourceState<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
}

/**
 * Data a component loads when it mounts and whenever `deps` change:
 * `load` gets an AbortSignal that fires when the component unmounts or a
 * newer load starts, so a late answer never overwrites a newer one.
 * A `load` of null loads nothing (there is nothing to ask about yet).
 */
export function useResource<T>(load: ((signal: AbortSignal) => Promise<T>) | null, deps: DependencyList): Resource<T> {
  const [state, setState] = useState<ResourceState<T>>({ data: undefined, error: undefined, loading: load !== null });
  const [round, setRound] = useState(0);
  // The latest `load` is called, but only `deps` decide when, as with useEffect itself.
  const loadRef = useRef(load);
  useEffect(() => {
    loadRef.current = load;
  });

  useEffect(() => {
    const current = loadRef.current;
    if (!current) {
      setState((previous) => (previous.loading ? { ...previous, loading: false } : previous));
      return;
    }
    const controller = new AbortController();
    setState((previous) => (previous.loading && previous.error === undefined ? previous : { ...previous, error: undefined, loading: true }));
    current(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setState({ data, error: undefined, loading: false });
      },
      (error: unknown) => {
        if (!controller.signal.aborted) setState((previous) => ({ data: previous.data, error, loading: false }));
      },
    );
    return () => controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps -- `deps` stand for what `load` reads.
  }, [...deps, round]);

  const reload = useCallback(() => setRound((n) => n + 1), []);
  const update = useCallback(
    (change: (data: T) => T) =>
      setState((previous) => (previous.data === undefined ? previous : { ...previous, data: change(previous.data) })),
    [],
  );
  return { ...state, reload, update };
}
