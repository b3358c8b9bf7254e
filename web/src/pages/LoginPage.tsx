import { useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { login } from "../api/auth";
import { useAuth } from "../auth/AuthContext";
import { safeNext } from "../auth/next";
import { Alert } from "../components/Alert";
import { Field } from "../components/Field";
import { Page } from "../components/Page";
import { useFeatures } from "../components/useFeatures";
import { useForm } from "../components/useForm";

const FIELDS = ["username", "password"] as const;

export function LoginPage() {
  const { state, signedIn } = useAuth();
  const [params] = useSearchParams();
  const next = safeNext(params.get("next"));
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const form = useForm(FIELDS);
  const features = useFeatures();
  const sessionEnded = state.status === "ready" && state.ended === "session_ended";

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    void form.submit(
      // <GuestOnly> moves a signed-in user on to `next`.
      async () => signedIn(await login(username.trim(), password)),
      () => ({
        ...(username.trim() === "" ? { username: "Enter your username or email address." } : {}),
        ...(password === "" ? { password: "Enter your password." } : {}),
      }),
    );
  };

  return (
    <Page title="Log in" narrow>
      {sessionEnded && !form.message ? <Alert tone="info" message="Your session has ended. Log in again to continue." /> : null}
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
