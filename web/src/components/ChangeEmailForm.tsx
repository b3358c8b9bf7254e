import { useState, type FormEvent } from "react";
import { ApiError, isApiError, type FieldErrors } from "../api/client";
import { changeEmail } from "../api/recovery";
import { emailProblem } from "../lib/validation";
import { Alert } from "./Alert";
import { CurrentPasswordField } from "./CurrentPasswordField";
import { Field } from "./Field";
import { useForm } from "./useForm";

const FIELDS = ["new_email", "current_password"] as const;

/** The address changes only once the link mailed to the new one is followed. */
export function ChangeEmailForm({ username }: { username: string }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [sentTo, setSentTo] = useState("");
  const form = useForm(FIELDS);

  const validate = (): FieldErrors => {
    const problems: Record<string, string | undefined> = {
      new_email: email.trim() === "" ? "Enter the new address." : emailProblem(email.trim()),
      current_password: password === "" ? "Enter your current password." : undefined,
    };
    return Object.fromEntries(Object.entries(problems).filter((entry): entry is [string, string] => entry[1] !== undefined));
  };

  const onSubmit = async (event: FormEvent) => {
    event.preventDefault();
    setSentTo("");
    const address = email.trim();
    const sent = await form.submit(async () => {
      try {
        await changeEmail(password, address);
      } catch (error) {
        // Each of these can only be about one field of this form: say so next to it.
        const field: FieldErrors | undefined = isApiError(error, "invalid_credentials")
          ? { current_password: "That is not your current password." }
          : isApiError(error, "email_taken")
            ? { new_email: "Another account uses that address." }
            : undefined;
        if (field && error instanceof ApiError) {
          throw new ApiError({ status: error.status, code: error.code, message: error.message, fields: field });
        }
        throw error;
      }
    }, validate);
    if (sent) {
      setEmail("");
      setPassword("");
      setSentTo(address);
    }
  };

  return (
    <form id={form.formId} className="form" onSubmit={onSubmit} noValidate>
      <Alert message={form.message} />
      <Alert tone="success" message={sentTo ? `We sent a link to ${sentTo}. Your address changes when you open it.` : ""} />
      <input type="text" name="username" autoComplete="username" value={username} readOnly hidden />
      <Field
        label="New email address"
        name="new_email"
        type="email"
        autoComplete="email"
        value={email}
        onChange={(e) => setEmail(e.target.value)}
        error={form.errors.new_email}
        required
      />
      <CurrentPasswordField
        label="Current password"
        name="current_password"
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        error={form.errors.current_password}
      />
      <button type="submit" className="button button-primary" disabled={form.busy}>
        {form.busy ? "Sending link…" : "Change email address"}
      </button>
    </form>
  );
}
