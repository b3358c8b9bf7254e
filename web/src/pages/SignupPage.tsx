import { useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { signup } from "../api/auth";
import type { FieldErrors } from "../api/client";
import { useAuth } from "../auth/AuthContext";
import { safeNext } from "../auth/next";
import { Alert } from "../components/Alert";
import { Field } from "../components/Field";
import { NewPasswordFields, useNewPassword } from "../components/NewPasswordFields";
import { Page } from "../components/Page";
import { ProviderButtons } from "../components/ProviderButtons";
import { useForm } from "../components/useForm";
import { emailProblem, USERNAME_RULE, usernameProblem } from "../lib/validation";

const FIELDS = ["username", "email", "password", "password_confirmation"] as const;

export function SignupPage() {
  const { signedIn } = useAuth();
  const [params] = useSearchParams();
  const next = safeNext(params.get("next"));
  const [username, setUsername] = useState("");
  const [email, setEmail] = useState("");
  const newPassword = useNewPassword("password");
  const form = useForm(FIELDS);

  const validate = (): FieldErrors => {
    const problems: Record<string, string | undefined> = {
      username: usernameProblem(username.trim()),
      email: emailProblem(email.trim()),
      ...newPassword.problems(),
    };
    return Object.fromEntries(Object.entries(problems).filter((entry): entry is [string, string] => entry[1] !== undefined));
  };

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const trimmedEmail = email.trim();
    void form.submit(
      async () =>
        signedIn(
          await signup({
            username: username.trim(),
            password: newPassword.password,
            password_confirmation: newPassword.confirmation,
            ...(trimmedEmail ? { email: trimmedEmail } : {}),
          }),
        ),
      validate,
    );
  };

  return (
    <Page title="Sign up" heading="Create your account" narrow>
      <form id={form.formId} className="card form" onSubmit={onSubmit} noValidate>
        <Alert message={form.message} />
        <Field
          label="Username"
          name="username"
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          maxLength={32}
          value={username}
          onChange={(e) => setUsername(e.target.value)}
          hint={USERNAME_RULE}
          error={form.errors.username}
          required
        />
        <Field
          label="Email (optional)"
          name="email"
          type="email"
          autoComplete="email"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          hint="Lets you log in with your email address too."
          error={form.errors.email}
        />
        <NewPasswordFields input={newPassword} errors={form.errors} />
        <button type="submit" className="button button-primary button-block" disabled={form.busy}>
          {form.busy ? "Creating account…" : "Create account"}
        </button>
        <ProviderButtons returnTo={next ?? "/"} />
      </form>
      <p className="aside">
        Already have an account? <Link to={next ? `/login?next=${encodeURIComponent(next)}` : "/login"}>Log in</Link>
      </p>
    </Page>
  );
}
