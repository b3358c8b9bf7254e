import { useState, type FormEvent } from "react";
import { Link } from "react-router";
import type { FieldErrors } from "../api/client";
import { forgotPassword } from "../api/recovery";
import { Alert } from "../components/Alert";
import { Page } from "../components/Page";
import { useForm } from "../components/useForm";
import { UsernameOrEmailField } from "../components/UsernameOrEmailField";

const FIELDS = ["username"] as const;

export function ForgotPasswordPage() {
  const [username, setUsername] = useState("");
  const [sent, setSent] = useState(false);
  const form = useForm(FIELDS);

  const onSubmit = async (event: FormEvent) => {
    event.preventDefault();
    const done = await form.submit(
      () => forgotPassword(username.trim()),
      (): FieldErrors => (username.trim() === "" ? { username: "Enter your username or email address." } : {}),
    );
    if (done) setSent(true);
  };

  return (
    <Page title="Forgot password" heading="Forgot your password?" narrow>
      {sent ? (
        <div className="card">
          {/* The server answers alike for every name, so this page cannot know more either. */}
          <Alert
            tone="success"
            message="If an account with that name or address has an email address, a link to choose a new password is on its way. It works for 30 minutes."
          />
          <p>
            <Link to="/login">Back to log in</Link>
          </p>
        </div>
      ) : (
        <form id={form.formId} className="card form" onSubmit={onSubmit} noValidate>
          <Alert message={form.message} />
          <p>Enter your username or email address and we will mail you a link to choose a new password.</p>
          <UsernameOrEmailField value={username} onChange={(e) => setUsername(e.target.value)} error={form.errors.username} />
          <button type="submit" className="button button-primary button-block" disabled={form.busy}>
            {form.busy ? "Sending…" : "Send me a link"}
          </button>
        </form>
      )}
      <p className="aside">
        Remembered it? <Link to="/login">Log in</Link>
      </p>
    </Page>
  );
}
