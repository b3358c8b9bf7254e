import { useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { login, loginSecondFactor, type SecondFactorProof } from "../api/auth";
import { isApiError, type FieldErrors, type SecondFactorChallenge } from "../api/client";
import { loginWithPasskey, passkeyLoginOptions } from "../api/passkeys";
import type { User } from "../api/types";
import { useAuth } from "../auth/AuthContext";
import { safeNext } from "../auth/next";
import { Alert } from "../components/Alert";
import { CurrentPasswordField } from "../components/CurrentPasswordField";
import { Field } from "../components/Field";
import { Page } from "../components/Page";
import { PasskeyElsewhere } from "../components/PasskeyElsewhere";
import { useFeatures } from "../components/useFeatures";
import { useForm } from "../components/useForm";
import { usePasskeyAvailability } from "../components/usePasskeyAvailability";
import { UsernameOrEmailField } from "../components/UsernameOrEmailField";
import { getPasskey, type RequestOptionsJSON } from "../lib/webauthn";

const FIELDS = ["username", "password"] as const;
const CODE_FIELDS = ["code"] as const;

export function LoginPage() {
  const { state, signedIn } = useAuth();
  const [params] = useSearchParams();
  const next = safeNext(params.get("next"));
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const form = useForm(FIELDS);
  const [pending, setPending] = useState<SecondFactorChallenge | null>(null);
  const [expired, setExpired] = useState(false);
  const features = useFeatures();
  const passkeys = usePasskeyAvailability();
  const sessionEnded = state.status === "ready" && state.ended === "session_ended";

  if (pending) {
    return (
      <SecondStep
        pending={pending}
        onExpired={() => {
          setPending(null);
          setPassword("");
          setExpired(true);
        }}
      />
    );
  }

  // <GuestOnly> moves a signed-in user on to `next`.
  const finish = async (attempt: Promise<User>) => {
    try {
      signedIn(await attempt);
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
    <Page title="Log in" narrow>
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
      </form>
      <p className="aside">
        New here? <Link to={next ? `/signup?next=${encodeURIComponent(next)}` : "/signup"}>Create an account</Link>
      </p>
    </Page>
  );
}

/**
 * The second step: a code from the authenticator app, a recovery code, or a
 * passkey, whichever of them `pending.methods` offers.
 */
function SecondStep({ pending, onExpired }: { pending: SecondFactorChallenge; onExpired: () => void }) {
  const { signedIn } = useAuth();
  const [code, setCode] = useState("");
  const hasTotp = pending.methods.includes("totp");
  const hasRecovery = pending.methods.includes("recovery_code");
  const [recovery, setRecovery] = useState(!hasTotp && hasRecovery);
  const form = useForm(CODE_FIELDS);
  const passkeys = usePasskeyAvailability();
  const passkeyOptions = pending.methods.includes("webauthn") ? pending.webauthn?.publicKey : undefined;

  const finish = async (proof: SecondFactorProof) => {
    try {
      signedIn(await loginSecondFactor(pending.challenge, proof));
    } catch (error) {
      if (isApiError(error, "invalid_challenge")) {
        onExpired();
        return;
      }
      throw error;
    }
  };

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const typed = code.trim();
    void form.submit(
      () => finish(recovery ? { recovery_code: typed } : { code: typed.replace(/\s/g, "") }),
      (): FieldErrors => (typed === "" ? { code: recovery ? "Enter one of your recovery codes." : "Enter the 6-digit code." } : {}),
    );
  };

  const onPasskey = (options: RequestOptionsJSON) => {
    void form.submit(async () => finish({ credential: await getPasskey(options) }));
  };

  const passkeyChoice =
    passkeyOptions === undefined ? null : passkeys.kind === "ready" ? (
      <button type="button" className="button button-block" onClick={() => onPasskey(passkeyOptions)} disabled={form.busy}>
        Use a passkey
      </button>
    ) : passkeys.kind === "elsewhere" ? (
      <PasskeyElsewhere host={passkeys.host} url={passkeys.url} />
    ) : null;

  if (!hasTotp && !hasRecovery) {
    return (
      <Page title="Two-step verification" narrow>
        <div id={form.formId} className="card form">
          <p>Confirm it is you with one of your passkeys.</p>
          <Alert message={form.message} />
          {passkeyChoice}
        </div>
      </Page>
    );
  }

  return (
    <Page title="Two-step verification" narrow>
      <form id={form.formId} className="card form" onSubmit={onSubmit} noValidate>
        <p>
          {recovery
            ? "Enter one of the recovery codes you saved when you set up your authenticator app. Each code works once."
            : "Open your authenticator app and enter the 6-digit code it shows for this account."}
        </p>
        <Alert message={form.message} />
        <Field
          label={recovery ? "Recovery code" : "Authentication code"}
          name="code"
          autoComplete="one-time-code"
          inputMode={recovery ? "text" : "numeric"}
          autoCapitalize="none"
          spellCheck={false}
          value={code}
          onChange={(e) => setCode(e.target.value)}
          error={form.errors.code}
          required
          autoFocus
        />
        <button type="submit" className="button button-primary button-block" disabled={form.busy}>
          {form.busy ? "Verifying…" : "Verify"}
        </button>
        {passkeyChoice}
        {hasTotp && hasRecovery ? (
          <button
            type="button"
            className="button button-quiet button-block"
            onClick={() => {
              setRecovery(!recovery);
              setCode("");
              form.clear();
            }}
          >
            {recovery ? "Use the authenticator app instead" : "Use a recovery code instead"}
          </button>
        ) : null}
      </form>
    </Page>
  );
}
