import { useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { login, loginSecondFactor } from "../api/auth";
import { isApiError, type FieldErrors, type SecondFactorChallenge } from "../api/client";
import { useAuth } from "../auth/AuthContext";
import { safeNext } from "../auth/next";
import { Alert } from "../components/Alert";
import { Field } from "../components/Field";
import { Page } from "../components/Page";
import { useFeatures } from "../components/useFeatures";
import { useForm } from "../components/useForm";

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

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    setExpired(false);
    void form.submit(
      // <GuestOnly> moves a signed-in user on to `next`.
      async () => {
        try {
          signedIn(await login(username.trim(), password));
        } catch (error) {
          // The password was right; the account asks for its second factor.
          if (isApiError(error, "second_factor_required") && error.secondFactor) {
            setPending(error.secondFactor);
            return;
          }
          throw error;
        }
      },
      () => ({
        ...(username.trim() === "" ? { username: "Enter your username or email address." } : {}),
        ...(password === "" ? { password: "Enter your password." } : {}),
      }),
    );
  };

  return (
    <Page title="Log in" narrow>
      {sessionEnded && !form.message ? <Alert tone="info" message="Your session has ended. Log in again to continue." /> : null}
      {expired && !form.message ? (
        <Alert tone="info" message="That login took too long or was already used. Enter your password again." />
      ) : null}
      <form id={form.formId} className="card form" onSubmit={onSubmit} noValidate>
        <Alert message={form.message} />
        <Field
          label="Username or email"
          name="username"
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          value={username}
          onChange={(e) => setUsername(e.target.value)}
          error={form.errors.username}
          required
        />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={form.errors.password}
          required
        />
        <button type="submit" className="button button-primary button-block" disabled={form.busy}>
          {form.busy ? "Logging in…" : "Log in"}
        </button>
        {features?.email ? (
          <p className="aside">
            <Link to="/forgot-password">Forgot password?</Link>
          </p>
        ) : null}
      </form>
      <p className="aside">
        New here? <Link to={next ? `/signup?next=${encodeURIComponent(next)}` : "/signup"}>Create an account</Link>
      </p>
    </Page>
  );
}

/** The second step: a code from the authenticator app, or a recovery code. */
function SecondStep({ pending, onExpired }: { pending: SecondFactorChallenge; onExpired: () => void }) {
  const { signedIn } = useAuth();
  const [code, setCode] = useState("");
  const [recovery, setRecovery] = useState(false);
  const form = useForm(CODE_FIELDS);

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const typed = code.trim();
    void form.submit(
      async () => {
        try {
          const proof = recovery ? { recovery_code: typed } : { code: typed.replace(/\s/g, "") };
          signedIn(await loginSecondFactor(pending.challenge, proof));
        } catch (error) {
          if (isApiError(error, "invalid_challenge")) {
            onExpired();
            return;
          }
          throw error;
        }
      },
      (): FieldErrors => (typed === "" ? { code: recovery ? "Enter one of your recovery codes." : "Enter the 6-digit code." } : {}),
    );
  };

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
        {pending.methods.includes("recovery_code") ? (
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
