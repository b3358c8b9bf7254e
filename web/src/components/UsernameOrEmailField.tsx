import { Field, type FieldProps } from "./Field";

/** The name that finds an account: its username or its email address, sent as `username`. */
export function UsernameOrEmailField(props: Omit<FieldProps, "label" | "name" | "autoComplete" | "autoCapitalize" | "spellCheck">) {
  return (
    <Field
      label="Username or email"
      name="username"
      autoComplete="username"
      autoCapitalize="none"
      spellCheck={false}
      required
      {...props}
    />
  );
}
