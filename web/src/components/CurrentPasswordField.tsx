import { Field, type FieldProps } from "./Field";

type CurrentPasswordFieldProps = Omit<FieldProps, "type" | "autoComplete" | "label"> & { label?: string };

/**
 * A password the person already has, typed to prove it is them. The
 * autocomplete hint lets a password manager fill in the saved one. Without a
 * label and name it is the step-up prompt's "Your password", sent as `password`.
 */
export function CurrentPasswordField({ label = "Your password", name = "password", ...input }: CurrentPasswordFieldProps) {
  return <Field label={label} name={name} type="password" autoComplete="current-password" required {...input} />;
}
