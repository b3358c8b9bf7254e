import { useState, type FormEvent } from "react";
import { Link, useLocation } from "react-router";
import { resetPassword, tokenFromHash } from "../api/recovery";
import { type FieldErrors } from "../api/client";
import { Alert } from "../components/Alert";
import { NewPasswordFields, useNewPassword } from "../components/NewPasswordFields";
import { Page } from "../components/Page";
import { useForm } from "../components/useForm";

const FIELDS = ["new_password", "new_password_confirmation"] as const;

export function ResetPasswordPage() {
  const token = tokenFromHash(useLocation().hash);
  const newPassword = useNewPassword("new_password");
  const [done, setDone] = useState(false);
  const form = useForm(FIELDS);

  const validate = (): FieldErrors => {
    const problems = newPassword.problems();
    return Object.fromEntries(Object.entries(problems).filter((entry): entry is [string, string] => entry[1] !== undefined));
  };

  const onSubmit = async (event: FormEvent) => {
    event.preventDefault();
    if (await form.submit(() => resetPassword(token, newPassword.password), validate)) setDone(true);
  };

  if (token === "") {
    return (
      <Page title="Choose a new password" narrow>
        <div className="card">
          <Alert message="This page needs the link from the mail we sent you. Open that link, or ask for a new one." />
          <p>
            <Link to="/forgot-password">Ask for a new link</Link>
          </p>
        </div>
      </Page>
    );
  }

  return (
    <Page title="Choose a new password" narrow>
      {done ? (
        <div className="card">
          <Alert tone="success" message="Your password has been changed, and every session of your account has been signed out." />
          <p>
            <Link to="/login">Log in with your new password</Link>
          </p>
        </div>
      ) : (
        <form id={form.formId} className="card form" onSubmit={onSubmit} noValidate>
          <Alert message={form.message} />
          <NewPasswordFields input={newPassword} errors={form.errors} />
          <button type="submit" className="button button-primary button-block" disabled={form.busy}>
            {form.busy ? "Saving…" : "Set new password"}
          </button>
          {form.message && !Object.keys(form.errors).length ? (
            <p className="aside">
              <Link to="/forgot-password">Ask for a new link</Link>
            </p>
          ) : null}
        </form>
      )}
    </Page>
  );
}
