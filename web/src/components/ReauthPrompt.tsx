import { useState, type FormEvent } from "react";
import type { FieldErrors } from "../api/client";
import { reauthenticate } from "../api/factors";
import { Alert } from "./Alert";
import { Field } from "./Field";
import { useForm } from "./useForm";

const FIELDS = ["password"] as const;

/**
 * Shown in place when the server answered `reauthentication_required`: the
 * password renews the session's authentication, then `onConfirmed` retries
 * what was refused.
 */
export function ReauthPrompt({ onConfirmed, onCancel }: { onConfirmed: () => void; onCancel: () => void }) {
  const [password, setPassword] = useState("");
  const form = useForm(FIELDS);

  const onSubmit = async (event: FormEvent) => {
    event.preventDefault();
    const ok = await form.submit(
      () => reauthenticate(password),
      (): FieldErrors => (password === "" ? { password: "Enter your password." } : {}),
    );
    if (ok) onConfirmed();
  };

  return (
    <form id={form.formId} className="form" onSubmit={onSubmit} noValidate aria-label="Confirm it is you">
      <Alert tone="info" message="For your security, confirm your password to continue." />
      <Alert message={form.message} />
      <Field
        label="Your password"
        name="password"
        type="password"
        autoComplete="current-password"
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        error={form.errors.password}
        required
        autoFocus
      />
      <div className="button-row">
        <button type="submit" className="button button-primary" disabled={form.busy}>
          {form.busy ? "Confirming…" : "Confirm"}
        </button>
        <button type="button" className="button button-quiet" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
