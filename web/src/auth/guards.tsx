import { Navigate, Outlet, useLocation, useSearchParams } from "react-router";
import { AuthPending } from "../components/AuthPending";
import { NotAllowedPage } from "../pages/NotAllowedPage";
import { hasRole, useAuth } from "./AuthContext";
import { loginPathFor, safeNext } from "./next";

/** Lets logged-in users through; sends anyone else to log in and back here afterwards. */
export function RequireAuth() {
  const { state } = useAuth();
  const location = useLocation();
  if (state.status !== "ready") return <AuthPending state={state} />;
  if (!state.user) {
    // After "Log out" the page left behind is not somewhere to come back to.
    const target = state.ended === "logged_out" ? "/" : location.pathname + location.search + location.hash;
    return <Navigate to={loginPathFor(target)} replace />;
  }
  return <Outlet />;
}

/** Must sit inside <RequireAuth>: it only decides between the page and "not allowed". */
export function RequireRole({ role }: { role: string }) {
  const { state, user } = useAuth();
  if (state.status !== "ready") return <AuthPending state={state} />;
  return hasRole(user, role) ? <Outlet /> : <NotAllowedPage />;
}

/**
 * For the login and signup pages: a logged-in visitor has nothing to do
 * there, so they go on to `next` (when it is a path on this site) or home.
 * This is also what moves the user on right after a successful login.
 *
 * With `oauthRequests`, a page opened for an app's sign-in request
 * (`?oauth=`) is let through: the app may ask a logged-in user to log in
 * again (`prompt=login`, `max_age`), which only the request itself tells, so
 * the page decides and moves the user on.
 */
export function GuestOnly({ oauthRequests = false }: { oauthRequests?: boolean }) {
  const { state } = useAuth();
  const [params] = useSearchParams();
  if (state.status !== "ready") return <AuthPending state={state} />;
  if (state.user && !(oauthRequests && params.has("oauth"))) return <Navigate to={safeNext(params.get("next")) ?? "/"} replace />;
  return <Outlet />;
}
