import { useEffect, useEffectEvent, useRef, useState, type FormEvent } from "react";
import { ApiError, isApiError, type FieldErrors } from "../api/client";
import { changeEmail } from "../api/recovery";
import { rememberPendingAction } from "../lib/stepUp";
import { emailProblem } from "../lib/validation";
import { Alert } from "./Alert";
import { CurrentPasswordField } from "./CurrentPasswordField";
import { Field } from "./Field";
import { ReauthPrompt } from "./ReauthPrompt";
import { useStepUp } from "./StepUpContext";
import { useForm } from "./useForm";

const FIELDS = ["new_email", "current_password"] as const;

/**
 * The address changes only once the link mailed to the new one is followed.
 * The change is confirmed with the current password; an account without one
 * (made through a provider) is asked only for the new address, and confirms
 * it is you at its provider when the login is too old (`resume` is the
 * address to send again on the way back from there).
 */
export function ChangeEmailForm({ username, resume }: { username: string; resume?: string }) {
  const { hasPassword } = useStepUp();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [sentTo, setSentTo] = useState("");
  // The address waiting for a fresh login before it is sent again.
  const [stepUpFor, setStepUpFor] = useState<string | null>(null);
  const form = useForm(FIELDS);

  const validate = (address: string) => (): FieldErrors => {
    const problems: Record<string, string | undefined> = {
      new_email: address === "" ? "Enter the new address." : emailProblem(address),
      current_password: hasPassword && password === "" ? "Enter your current password." : undefined,
    };
    return Object.fromEntries(Object.entries(problems).filter((entry): entry is [string, string] => entry[1] !== undefined));
  };

  const send = async (address: string) => {
    setSentTo("");
    setStepUpFor(null);
    let needsStepUp = false;
    const sent = await form.submit(async () => {
      try {
        await changeEmail(address, hasPassword ? password : undefined);
      } catch (error) {
        // Without a password, a recent login at the provider is the proof.
        if (!hasPassword && isApiError(error, "reauthentication_required")) {
          needsStepUp = true;
          return;
        }
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
    }, validate(address));
    if (needsStepUp) {
      setStepUpFor(address);
    } else if (sent) {
      setEmail("");
      setPassword("");
      setSentTo(address);
    }
  };

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    void send(email.trim());
  };

  // Back from the provider, which has confirmed it is you: send the address again.
  const finish = useEffectEvent((address: string) => {
    setEmail(address);
    void send(address);
  });
  const resumed = useRef(false);
  useEffect(() => {
    if (resume === undefined || resumed.current) return;
    resumed.current = true;
    finish(resume);
  }, [resume]);

  if (stepUpFor !== null) {
    return (
      <ReauthPrompt
        onConfirmed={() => void send(stepUpFor)}
        onCancel={() => setStepUpFor(null)}
        beforeLeaving={() => rememberPendingAction({ kind: "change_email", new_email: stepUpFor })}
      />
    );
  }

  return (
    <form id={form.formId} className="form" onSubmit={onSubmit} noValidate>
      <Alert message={form.message} />
      <Alert tone="success" message={sentTo ? `We sent a link to ${sentTo}. Your address changes when you open it.` : ""} />
      {hasPassword ? <input type="text" name="username" autoComplete="username" value={username} readOnly hidden /> : null}
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
      {hasPassword ? (
        <CurrentPasswordField
          label="Current password"
          name="current_password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={form.errors.current_password}
        />
      ) : null}
      <button type="submit" className="button button-primary" disabled={form.busy}>
        {form.busy ? "Sending link…" : "Change email address"}
      </button>
    </form>
  );
}
