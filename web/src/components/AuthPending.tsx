import type { AuthState } from "../auth/AuthContext";
import { useAuth } from "../auth/AuthContext";

/** What a guarded page shows until the server has said who is logged in. */
export function AuthPending({ state }: { state: Exclude<AuthState, { status: "ready" }> }) {
  const { retry } = useAuth();
  if (state.status === "loading") {
    return (
      <p className="loading" role="status">
        Loading…
      </p>
    );
  }
  return (
    <div className="page page-narrow">
      <div role="alert" className="alert alert-error">
        {state.error.message}
      </div>
      <button type="button" className="button" onClick={retry}>
        Try again
      </button>
    </div>
  );
}
