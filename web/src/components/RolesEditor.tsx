import { useId, useState, type FormEvent } from "react";
import { setUserRoles } from "../api/admin";
import type { User } from "@latchkey/client";
import { roleProblem } from "../lib/validation";
import type { FieldErrors } from "../api/client";
import { Alert } from "./Alert";
import { Field } from "./Field";
import { SubmitOrCancel } from "./SubmitOrCancel";
import { useForm } from "./useForm";

const FIELDS = ["roles"] as const;

interface RolesEditorProps {
  user: User;
  onSaved: (user: User) => void;
  onCancel: () => void;
}

/** `user` is implied for every account, so only admin and custom roles are edited. */
export function RolesEditor({ user, onSaved, onCancel }: RolesEditorProps) {
  const [admin, setAdmin] = useState(user.roles.includes("admin"));
  const [others, setOthers] = useState(user.roles.filter((r) => r !== "user" && r !== "admin").join(", "));
  const form = useForm(FIELDS);
  const adminId = useId();

  const otherRoles = others
    .split(/[\s,]+/)
    .map((r) => r.trim())
    .filter(Boolean);

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const roles = [...new Set(["user", ...(admin ? ["admin"] : []), ...otherRoles])];
    void form.submit(
      async () => onSaved(await setUserRoles(user.id, roles)),
      (): FieldErrors => {
        const problem = otherRoles.map(roleProblem).find(Boolean);
        return problem ? { roles: problem } : {};
      },
    );
  };

  return (
    <form id={form.formId} className="form roles-editor" onSubmit={onSubmit} noValidate aria-label={`Roles of ${user.username}`}>
      <Alert message={form.message} />
      <div className="checkbox">
        <input id={adminId} type="checkbox" checked={admin} onChange={(e) => setAdmin(e.target.checked)} />
        <label htmlFor={adminId}>Administrator</label>
      </div>
      <Field
        label="Other roles"
        name="roles"
        value={others}
        onChange={(e) => setOthers(e.target.value)}
        hint="Separated by commas or spaces, e.g. editor, billing. Every account also has the user role."
        error={form.errors.roles}
        autoCapitalize="none"
        spellCheck={false}
      />
      <SubmitOrCancel label="Save roles" busyLabel="Saving…" busy={form.busy} onCancel={onCancel} holdCancel />
    </form>
  );
}
