import { useState, type FormEvent } from "react";
import { changePassword } from "../api/account";
import { reauthenticate } from "../api/factors";
import { ApiError, isApiError, type FieldErrors } from "../api/client";
import { Alert } from "./Alert";
import { CurrentPasswordField } from "./CurrentPasswordField";
import { NewPasswordFields, useNewPassword } from "./NewPasswordFields";
import { useForm } from "./useForm";

const FIELDS = ["current_password", "new_password", "new_password_confirmation"] as const;

/** `onChanged` runs after success: the server has just ended every other session. */
export function ChangePasswordForm({ username, onChanged }: { username: string; onChanged: () => void }) {
  const [current, setCurrent] = useState("");
  const newPassword = useNewPassword("new_password");
  const [done, setDone] = useState(false);
  const form = useForm(FIELDS);

  const validate = (): FieldErrors => {
    const problems: Record<string, string | undefined> = {
      current_password: current === "" ? "Enter your current password." : undefined,
      ...newPassword.problems(),
    };
    return Object.fromEntries(Object.entries(problems).filter((entry): entry is [string, string] => entry[1] !== undefined));
  };

  const onSubmit = async (event: FormEvent) => {
    event.preventDefault();
    setDone(false);
    const changed = await form.submit(async () => {
      try {
        try {
          await changePassword(current, newPassword.password);
        } catch (error) {
          // The login is older than the step-up window: the current password
          // just typed is the proof the server asks for, so renew and retry.
          if (!isApiError(error, "reauthentication_required")) throw error;
          await reauthenticate(current);
          await changePassword(current, newPassword.password);
        }
      } catch (error) {
        // Here "wrong username or password" can only mean the current password;
        // say so next to that field if the server did not already.
        if (isApiError(error, "invalid_credentials") && !error.fields?.current_password) {
          throw new ApiError({
            status: error.status,
            code: error.code,
            message: error.message,
            fields: { current_password: "That is not your current password." },
          });
        }
        throw error;
      }
    }, validate);
    if (changed) {
      setCurrent("");
      newPassword.clear();
      setDone(true);
      onChanged();
    }
  };

  return (
    <form id={form.formId} className="form" onSubmit={onSubmit} noValidate>
      <Alert message={form.message} />
      <Alert tone="success" message={done ? "Password changed. Every other session and app has been signed out." : ""} />
      {/* Tells password managers whose password this is, so they update the right entry. */}
      <input type="text" name="username" autoComplete="username" value={username} readOnly hidden />
      <CurrentPasswordField
        label="Current password"
        name="current_password"
        value={current}
        onChange={(e) => setCurrent(e.target.value)}
        error={form.errors.current_password}
      />
      <NewPasswordFields input={newPassword} errors={form.errors} />
      <button type="submit" className="button button-primary" disabled={form.busy}>
        {form.busy ? "Changing password…" : "Change password"}
      </button>
    </form>
  );
}
