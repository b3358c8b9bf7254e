import { useState, type FormEvent } from "react";
import { Link, Navigate, useNavigate, useSearchParams } from "react-router";
import { login } from "../api/auth";
import { isApiError, type SecondFactorChallenge } from "../api/client";
import { loginWithPasskey, passkeyLoginOptions } from "../api/passkeys";
import type { User } from "@latchkey/client";
import { useAuth } from "../auth/AuthContext";
import { consentPathFor, safeNext } from "../auth/next";
import { Alert } from "../components/Alert";
import { CurrentPasswordField } from "../components/CurrentPasswordField";
import { OAuthRequestPending } from "../components/OAuthRequestPending";
import { Page } from "../components/Page";
import { PasskeyElsewhere } from "../components/PasskeyElsewhere";
import { ProviderButtons } from "../components/ProviderButtons";
import { SecondStep } from "../components/SecondStep";
import { useFeatures } from "../components/useFeatures";
import { useForm } from "../components/useForm";
import { useOAuthRequest } from "../components/useOAuthRequest";
import { usePasskeyAvailability } from "../components/usePasskeyAvailability";
import { UsernameOrEmailField } from "../components/UsernameOrEmailField";
import { getPasskey } from "../lib/webauthn";

const FIELDS = ["username", "password"] as const;

export function LoginPage() {
  const { state, user, signedIn } = useAuth();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  // An app's sign-in request (`?oauth=`): every way of logging in, even
  // through a provider or a new account, goes on to the consent page.
  const oauthId = params.get("oauth");
  const oauth = useOAuthRequest(oauthId);
  const next = oauthId ? consentPathFor(oauthId) : safeNext(params.get("next"));
  const [typedUsername, setUsername] = useState<string | null>(null);
  const [password, setPassword] = useState("");
  const form = useForm(FIELDS);
  const [pending, setPending] = useState<SecondFactorChallenge | null>(null);
  const [expired, setExpired] = useState(false);
  const features = useFeatures();
  const passkeys = usePasskeyAvailability();
  const sessionEnded = state.status === "ready" && state.ended === "session_ended";
  const request = oauth.kind === "ready" ? oauth.request : null;
  const username = typedUsername ?? request?.login_hint ?? "";

  // <GuestOnly> lets a logged-in user stay here for an app's request, so this page moves them on.
  const onSignedIn = oauthId ? () => navigate(consentPathFor(oauthId), { replace: true }) : undefined;

  if (oauthId && oauth.kind !== "ready") return <OAuthRequestPending state={oauth} />;
  // A request that needs no login still needs a session to be accepted.
  if (oauthId && request && !request.login_required && user) return <Navigate to={consentPathFor(oauthId)} replace />;

  if (pending) {
    return (
      <SecondStep
        pending={pending}
        onSignedIn={onSignedIn}
        onExpired={() => {
          setPending(null);
          setPassword("");
          setExpired(true);
        }}
      />
    );
  }

  // <GuestOnly> moves a signed-in user on to `next`, unless this page does.
  const finish = async (attempt: Promise<User>) => {
    try {
      signedIn(await attempt);
      onSignedIn?.();
    } catch (error) {
      // The password was right; the account asks for its second factor.
      if (isApiError(error, "second_factor_required") && error.secondFactor) {
        setPending(error.secondFactor);
        return;
      }
      throw error;
    }
  };

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    setExpired(false);
    void form.submit(
      () => finish(login(username.trim(), password)),
      () => ({
        ...(username.trim() === "" ? { username: "Enter your username or email address." } : {}),
        ...(password === "" ? { password: "Enter your password." } : {}),
      }),
    );
  };

  // No username: the browser offers the passkeys it holds for this site, and
  // the one chosen names the account.
  const onPasskey = () => {
    setExpired(false);
    void form.submit(async () => {
      const { ceremony, options } = await passkeyLoginOptions();
      const credential = await getPasskey(options.publicKey);
      await finish(loginWithPasskey(ceremony, credential));
    });
  };

  return (
    <Page title="Log in" intro={request ? `Log in to continue to ${request.client.name}` : undefined} narrow>
      {user && request ? (
        <Alert tone="info" message={`${request.client.name} asks you to log in again, although you are logged in as ${user.username}.`} />
      ) : null}
      {sessionEnded && !form.message ? <Alert tone="info" message="Your session has ended. Log in again to continue." /> : null}
      {expired && !form.message ? (
        <Alert tone="info" message="That login took too long or was already used. Enter your password again." />
      ) : null}
      <form id={form.formId} className="card form" onSubmit={onSubmit} noValidate>
        <Alert message={form.message} />
        <UsernameOrEmailField value={username} onChange={(e) => setUsername(e.target.value)} error={form.errors.username} />
        <CurrentPasswordField
          label="Password"
          name="password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={form.errors.password}
        />
        <button type="submit" className="button button-primary button-block" disabled={form.busy}>
          {form.busy ? "Logging in…" : "Log in"}
        </button>
        {features?.email ? (
          <p className="aside">
            <Link to="/forgot-password">Forgot password?</Link>
          </p>
        ) : null}
        {passkeys.kind === "ready" ? (
          <>
            <p className="aside">or</p>
            <button type="button" className="button button-block" onClick={onPasskey} disabled={form.busy}>
              Sign in with a passkey
            </button>
          </>
        ) : passkeys.kind === "elsewhere" ? (
          <PasskeyElsewhere host={passkeys.host} url={passkeys.url} />
        ) : null}
        <ProviderButtons returnTo={next ?? "/"} />
      </form>
      <p className="aside">
        New here? <Link to={next ? `/signup?next=${encodeURIComponent(next)}` : "/signup"}>Create an account</Link>
      </p>
    </Page>
  );
}
