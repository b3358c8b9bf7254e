import { useState } from "react";
import type { FieldErrors } from "../api/client";
import { confirmationProblem, PASSWORD_RULE, passwordProblem } from "../lib/validation";
import { Field } from "./Field";

// Signing up chooses a first password; changing or resetting one chooses a
// new one. API.md names the fields after that, and the labels follow.
const LABELS = {
  password: { password: "Password", confirmation: "Confirm password" },
  new_password: { password: "New password", confirmation: "Confirm new password" },
} as const;

type Name = keyof typeof LABELS;

export interface NewPassword {
  /** The request field; the confirmation's is this name + `_confirmation`. */
  name: Name;
  password: string;
  confirmation: string;
  setPassword: (password: string) => void;
  setConfirmation: (confirmation: string) => void;
  /** Empties both fields, e.g. once the password has been changed. */
  clear: () => void;
  /** The client-side checks of both fields, keyed by field name, for a form's `validate`. */
  problems: () => Record<string, string | undefined>;
}

/** The state of a password being chosen and its confirmation; `name` is the request field. */
export function useNewPassword(name: Name): NewPassword {
  const [password, setPassword] = useState("");
  const [confirmation, setConfirmation] = useState("");
  return {
    name,
    password,
    confirmation,
    setPassword,
    setConfirmation,
    clear: () => {
      setPassword("");
      setConfirmation("");
    },
    problems: () => ({
      [name]: passwordProblem(password),
      [`${name}_confirmation`]: confirmationProblem(password, confirmation),
    }),
  };
}

/**
 * A password being chosen, typed twice. The autocomplete hint lets a password
 * manager offer a generated one and save it.
 */
export function NewPasswordFields({ input, errors }: { input: NewPassword; errors: FieldErrors }) {
  const confirmationName = `${input.name}_confirmation`;
  return (
    <>
      <Field
        label={LABELS[input.name].password}
        name={input.name}
        type="password"
        autoComplete="new-password"
        value={input.password}
        onChange={(e) => input.setPassword(e.target.value)}
        hint={PASSWORD_RULE}
        error={errors[input.name]}
        required
      />
      <Field
        label={LABELS[input.name].confirmation}
        name={confirmationName}
        type="password"
        autoComplete="new-password"
        value={input.confirmation}
        onChange={(e) => input.setConfirmation(e.target.value)}
        error={errors[confirmationName]}
        required
      />
    </>
  );
}
