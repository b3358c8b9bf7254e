import { useEffect, useRef, useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { describeCode, errorMessage, isApiError, type SecondFactorChallenge } from "../api/client";
import { continueFederation } from "../api/federation";
import { useAuth } from "../auth/AuthContext";
import { loginPathFor, safeReturnTo } from "../auth/next";
import { Alert } from "../components/Alert";
import { Page } from "../components/Page";
import { SecondStep } from "../components/SecondStep";
import { takePendingAction, type FederationReturnState } from "../lib/stepUp";

type Outcome =
  | { kind: "working" }
  | { kind: "second_factor"; pending: SecondFactorChallenge }
  | { kind: "failed"; message: string };

/**
 * Where the provider's callback sends the browser (`?return_to=/path`). The
 * server has recorded how the round trip went; `POST /api/federation/continue`
 * turns it into a login, a connected account or a confirmed step-up. That
 * flow works once, so it is asked exactly once per visit.
 */
export function FederatedPage() {
  const { state, user, signedIn } = useAuth();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const queryReturnTo = params.get("return_to");
  // The round trip could not even begin (the provider is down): nothing to continue.
  const startError = params.get("error");
  const [outcome, setOutcome] = useState<Outcome>(
    startError ? { kind: "failed", message: describeCode(startError, 503) } : { kind: "working" },
  );
  // React's development double effects must not spend the single-use flow twice.
  const started = useRef(false);
  // Wait for the session check of this page load: its "nobody" must not land
  // after, and undo, the login this page makes.
  const authKnown = state.status !== "loading";

  useEffect(() => {
    if (!authKnown || started.current || startError) return;
    started.current = true;
    const go = (to: string, returnState?: FederationReturnState) => navigate(to, { replace: true, state: returnState });
    continueFederation().then(
      (result) => {
        switch (result.kind) {
          case "login":
            signedIn(result.user);
            go(safeReturnTo(queryReturnTo));
            break;
          case "linked":
            go(safeReturnTo(result.returnTo, queryReturnTo), { notice: `Connected ${result.identity.label}.` });
            break;
          case "reauthenticated": {
            // The change the trip interrupted goes along to be finished there, once.
            const resume = takePendingAction();
            go(safeReturnTo(result.returnTo, queryReturnTo), { reauthenticated: true, ...(resume ? { resume } : {}) });
            break;
          }
        }
      },
      (error: unknown) => {
        // The provider vouched for the account; it asks for its own second step too.
        if (isApiError(error, "second_factor_required") && error.secondFactor) {
          setOutcome({ kind: "second_factor", pending: error.secondFactor });
        } else {
          setOutcome({ kind: "failed", message: errorMessage(error) });
        }
      },
    );
  }, [authKnown, navigate, queryReturnTo, signedIn, startError]);

  if (outcome.kind === "second_factor") {
    return (
      <SecondStep
        pending={outcome.pending}
        onSignedIn={() => navigate(safeReturnTo(queryReturnTo), { replace: true })}
        onExpired={() =>
          setOutcome({ kind: "failed", message: "That login took too long or was already used. Please start again." })
        }
      />
    );
  }

  const returnTo = safeReturnTo(queryReturnTo);
  return (
    <Page title="Continue with a provider" heading={outcome.kind === "failed" ? "That did not work" : "One moment…"} narrow>
      <div className="card">
        {outcome.kind === "working" ? (
          <p role="status">Finishing your sign-in…</p>
        ) : (
          <>
            <Alert message={outcome.message} />
            <p>
              {user ? (
                <Link to={returnTo}>{returnTo === "/account" ? "Back to your account" : "Go back"}</Link>
              ) : (
                <Link to={loginPathFor(returnTo)}>Back to log in</Link>
              )}
            </p>
          </>
        )}
      </div>
    </Page>
  );
}

