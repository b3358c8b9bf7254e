import { useState, type FormEvent } from "react";
import type { FieldErrors } from "../api/client";
import { reauthenticate } from "../api/factors";
import { Alert } from "./Alert";
import { CurrentPasswordField } from "./CurrentPasswordField";
import { SubmitOrCancel } from "./SubmitOrCancel";
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
      <CurrentPasswordField value={password} onChange={(e) => setPassword(e.target.value)} error={form.errors.password} autoFocus />
      <SubmitOrCancel label="Confirm" busyLabel="Confirming…" busy={form.busy} onCancel={onCancel} />
    </form>
  );
}
