import { useEffect, useRef, useState } from "react";
import { Link, NavLink, Outlet, useLocation, useNavigate } from "react-router";
import { errorMessage } from "../api/client";
import { hasRole, useAuth } from "../auth/AuthContext";
import { Alert } from "./Alert";
import { Avatar } from "./Avatar";
import { VerifyBanner } from "./VerifyBanner";

export function Layout() {
  const mainRef = useRef<HTMLElement>(null);
  const { pathname } = useLocation();
  const firstPath = useRef(pathname);

  // After a client-side navigation nothing tells a screen reader the page
  // changed; moving focus to the new heading does. The first page keeps the
  // browser's own focus handling.
  useEffect(() => {
    if (pathname === firstPath.current) return;
    firstPath.current = "";
    mainRef.current?.querySelector<HTMLElement>("h1")?.focus();
  }, [pathname]);

  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <SiteHeader />
      <VerifyBanner />
      <main id="main" ref={mainRef} tabIndex={-1}>
        <Outlet />
      </main>
    </div>
  );
}

function SiteHeader() {
  const { state, user, logOut } = useAuth();
  const navigate = useNavigate();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");

  const onLogOut = async () => {
    setBusy(true);
    setError("");
    try {
      await logOut();
      navigate("/login", { replace: true });
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <header className="site-header">
      <div className="site-header-inner">
        <Link to="/" className="brand">
          <svg className="brand-mark" viewBox="0 0 32 32" width="24" height="24" aria-hidden="true">
            <rect width="32" height="32" rx="7" fill="currentColor" />
            <path d="M11 14v-3a5 5 0 0 1 10 0v3" stroke="#fff" strokeWidth="2.5" fill="none" />
            <rect x="8" y="14" width="16" height="11" rx="2" fill="#fff" />
          </svg>
          latchkey
        </Link>
        <nav aria-label="Main" className="site-nav">
          {/* Until check_session answers, neither set of links is known to be right. */}
          {state.status !== "ready" ? null : user ? (
            <>
              <NavLink to="/" end>
                Home
              </NavLink>
              <NavLink to="/account">Account</NavLink>
              {hasRole(user, "admin") ? <NavLink to="/admin">Admin</NavLink> : null}
            </>
          ) : (
            <>
              <NavLink to="/login">Log in</NavLink>
              <NavLink to="/signup">Sign up</NavLink>
            </>
          )}
        </nav>
        {user ? (
          <div className="site-user">
            <Link to="/account" className="site-user-name" aria-label={`Account of ${user.username}`}>
              <Avatar user={user} size={28} />
              <span>{user.username}</span>
            </Link>
            <button type="button" className="button button-quiet button-small" onClick={onLogOut} disabled={busy}>
              {busy ? "Logging out…" : "Log out"}
            </button>
          </div>
        ) : null}
      </div>
      {error ? (
        <div className="site-header-error">
          <Alert message={error} />
        </div>
      ) : null}
    </header>
  );
}
