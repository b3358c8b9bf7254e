import { useEffect, useEffectEvent, useState } from "react";
import { Navigate, useNavigate, useSearchParams } from "react-router";
import { errorMessage, isApiError } from "../api/client";
import { acceptOAuthRequest, denyOAuthRequest } from "../api/oauth2";
import type { OAuthDecision, OAuthRequest } from "../api/oauth2";
import type { User } from "@latchkey/client";
import { useAuth } from "../auth/AuthContext";
import { oauthLoginPathFor } from "../auth/next";
import { Alert } from "../components/Alert";
import { AuthPending } from "../components/AuthPending";
import { OAuthRequestPending } from "../components/OAuthRequestPending";
import { Page } from "../components/Page";
import { useOAuthRequest } from "../components/useOAuthRequest";
import { leaveTo } from "../lib/leave";
import { describeScope } from "../lib/scopes";

type Choice = "allow" | "deny";

/**
 * `/consent?oauth=<request id>`: an app asks to log the user in. Allow or
 * Deny both end by sending the browser back to the app, with a code or with
 * `access_denied`. A request the user need not be asked about (an app that
 * skips consent, a remembered grant) is allowed at once.
 */
export function ConsentPage() {
  const { state, user } = useAuth();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const id = params.get("oauth");
  const oauth = useOAuthRequest(id);
  // Stays set once the answer is in: the page is on its way back to the app.
  const [busy, setBusy] = useState<Choice | null>(null);
  const [error, setError] = useState("");
  const [usedUp, setUsedUp] = useState(false);

  const request = oauth.kind === "ready" ? oauth.request : null;
  const allowAtOnce = request !== null && user !== null && !request.login_required && !request.consent_required;

  const leaveOrExplain = (answer: Promise<OAuthDecision>, requestId: string) =>
    answer.then(
      ({ redirect_to }) => leaveTo(redirect_to),
      (e: unknown) => {
        setBusy(null);
        if (isApiError(e, "unauthorized") || isApiError(e, "login_required")) {
          navigate(oauthLoginPathFor(requestId), { replace: true });
        } else if (isApiError(e, "not_found")) {
          setUsedUp(true);
        } else {
          setError(errorMessage(e));
        }
      },
    );

  const decide = (choice: Choice, answer: (id: string) => Promise<OAuthDecision>) => {
    if (!id) return;
    setBusy(choice);
    setError("");
    void leaveOrExplain(answer(id), id);
  };

  // The request is loaded after this page mounts, so even StrictMode's second
  // run of mount effects finds nothing to accept yet: this accepts once.
  const allowNow = useEffectEvent((requestId: string) => void leaveOrExplain(acceptOAuthRequest(requestId), requestId));
  useEffect(() => {
    if (allowAtOnce && id) allowNow(id);
  }, [allowAtOnce, id]);

  if (state.status !== "ready") return <AuthPending state={state} />;
  if (usedUp) return <OAuthRequestPending state={{ kind: "expired" }} />;
  if (oauth.kind !== "ready") return <OAuthRequestPending state={oauth} />;
  // Also after "Log out" here: the request goes on with whoever logs in next.
  if (!user || oauth.request.login_required) return <Navigate to={oauthLoginPathFor(oauth.request.id)} replace />;

  const name = oauth.request.client.name;
  if (allowAtOnce) {
    return (
      <Page title={`Continue to ${name}`} narrow>
        <div className="card form">
          {error ? (
            <>
              <Alert message={error} />
              <button type="button" className="button" onClick={() => decide("allow", acceptOAuthRequest)} disabled={busy !== null}>
                Try again
              </button>
            </>
          ) : (
            <p role="status">Taking you back to {name}…</p>
          )}
        </div>
      </Page>
    );
  }

  return (
    <ConsentForm
      request={oauth.request}
      user={user}
      busy={busy}
      error={error}
      onAllow={() => decide("allow", acceptOAuthRequest)}
      onDeny={() => decide("deny", denyOAuthRequest)}
    />
  );
}

function ConsentForm({
  request,
  user,
  busy,
  error,
  onAllow,
  onDeny,
}: {
  request: OAuthRequest;
  user: User;
  busy: Choice | null;
  error: string;
  onAllow: () => void;
  onDeny: () => void;
}) {
  const { logOut } = useAuth();
  const [logOutError, setLogOutError] = useState("");
  const name = request.client.name;

  const onLogOut = async () => {
    setLogOutError("");
    try {
      await logOut();
    } catch (e) {
      setLogOutError(errorMessage(e));
    }
  };

  return (
    <Page title={`Continue to ${name}`} narrow>
      <section className="card form consent" aria-labelledby="consent-heading">
        <h2 id="consent-heading">{name} wants to:</h2>
        <ul className="scope-list">
          {request.scopes.map((scope) => (
            <li key={scope}>{describeScope(scope)}</li>
          ))}
        </ul>
        <p className="muted">
          You are logged in as <strong>{user.username}</strong>. Not you?{" "}
          <button type="button" className="button-link" onClick={() => void onLogOut()} disabled={busy !== null}>
            Log out
          </button>
        </p>
        <Alert message={error || logOutError} />
        <div className="button-row">
          <button type="button" className="button button-primary" onClick={onAllow} disabled={busy !== null}>
            {busy === "allow" ? "Allowing…" : "Allow"}
          </button>
          <button type="button" className="button" onClick={onDeny} disabled={busy !== null}>
            {busy === "deny" ? "Denying…" : "Deny"}
          </button>
        </div>
        <p className="muted">You can take this back at any time on your account page, under “Apps you allowed”.</p>
      </section>
    </Page>
  );
}
