import { Page } from "./Page";
import type { OAuthRequestState } from "./useOAuthRequest";

const EXPIRED_MESSAGE = "This sign-in request has expired. Go back to the app and try again.";

/** What the login and consent pages show until the app's sign-in request is in hand, or instead of it. */
export function OAuthRequestPending({ state }: { state: Exclude<OAuthRequestState, { kind: "ready" }> }) {
  if (state.kind === "loading") {
    return (
      <p className="loading" role="status">
        Loading…
      </p>
    );
  }
  if (state.kind === "expired") {
    return (
      <Page title="Sign-in expired" narrow>
        <div role="alert" className="alert alert-error">
          {EXPIRED_MESSAGE}
        </div>
      </Page>
    );
  }
  return (
    <Page title="Sign-in" heading="That did not work" narrow>
      <div role="alert" className="alert alert-error">
        {state.message}
      </div>
      <button type="button" className="button" onClick={state.retry}>
        Try again
      </button>
    </Page>
  );
}
