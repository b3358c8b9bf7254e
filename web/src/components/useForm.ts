import { useEffect, useId, useState } from "react";
import { ApiError, errorMessage, type FieldErrors } from "../api/client";

export interface FormState {
  /** The `id` to give the <form>, so focus can be moved inside it. */
  formId: string;
  errors: FieldErrors;
  /** The form-wide message for the alert region; "" when there is none. */
  message: string;
  busy: boolean;
  /**
   * Runs client-side checks, then `action`, turning an ApiError into
   * messages. Resolves true when the action succeeded.
   */
  submit: (action: () => Promise<void>, validate?: () => FieldErrors) => Promise<boolean>;
  /** Drops the errors, e.g. when the form is reset for another item. */
  clear: () => void;
}

/**
 * State shared by every form: per-field errors, one form-wide message and
 * an in-flight flag. `fieldNames` are the fields this form shows; a server
 * error about any other field goes to the form-wide message so it is never
 * silently lost.
 */
export function useForm(fieldNames: readonly string[]): FormState {
  const formId = useId();
  const [errors, setErrors] = useState<FieldErrors>({});
  const [message, setMessage] = useState("");
  const [busy, setBusy] = useState(false);
  const [failures, setFailures] = useState(0);

  // After a failed submit, focus goes to the first field that needs fixing,
  // so keyboard users land where the work is.
  useEffect(() => {
    if (failures === 0) return;
    document.getElementById(formId)?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [failures, formId]);

  const submit = async (action: () => Promise<void>, validate?: () => FieldErrors): Promise<boolean> => {
    const clientErrors = validate?.() ?? {};
    if (Object.keys(clientErrors).length > 0) {
      setErrors(clientErrors);
      setMessage("");
      setFailures((n) => n + 1);
      return false;
    }
    setBusy(true);
    setErrors({});
    setMessage("");
    try {
      await action();
      return true;
    } catch (error) {
      if (error instanceof DOMException && error.name === "AbortError") return false;
      const { shown, other } = splitFields(error instanceof ApiError ? error.fields : undefined, fieldNames);
      setErrors(shown);
      setMessage(formMessage(error, shown, other));
      setFailures((n) => n + 1);
      return false;
    } finally {
      setBusy(false);
    }
  };

  const clear = () => {
    setErrors({});
    setMessage("");
  };

  return { formId, errors, message, busy, submit, clear };
}

function splitFields(fields: FieldErrors | undefined, names: readonly string[]) {
  const shown: FieldErrors = {};
  const other: string[] = [];
  for (const [name, text] of Object.entries(fields ?? {})) {
    if (names.includes(name)) shown[name] = text;
    else other.push(text);
  }
  return { shown, other };
}

function formMessage(error: unknown, shown: FieldErrors, other: string[]): string {
  if (other.length > 0) return other.join(" ");
  // The field messages already say everything; the alert only points at them.
  if (Object.keys(shown).length > 0) return "Please correct the fields marked below.";
  return errorMessage(error);
}
