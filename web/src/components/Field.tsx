import {
  useId,
  type InputHTMLAttributes,
  type ReactNode,
  type Ref,
  type SelectHTMLAttributes,
  type TextareaHTMLAttributes,
} from "react";

interface Described {
  label: string;
  hint?: ReactNode;
  error?: string | undefined;
}

/** What ties a control to its label, hint and error for assistive technology. */
interface ControlProps {
  id: string;
  "aria-invalid": true | undefined;
  "aria-describedby": string | undefined;
}

function useDescribed(hint: ReactNode, error: string | undefined) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const control: ControlProps = {
    id,
    "aria-invalid": error ? true : undefined,
    "aria-describedby": [error ? errorId : null, hint ? hintId : null].filter(Boolean).join(" ") || undefined,
  };
  const notes = (
    <>
      {error ? (
        <p id={errorId} className="field-error">
          {error}
        </p>
      ) : null}
      {hint ? (
        <p id={hintId} className="field-hint">
          {hint}
        </p>
      ) : null}
    </>
  );
  return { control, notes };
}

export interface FieldProps extends Described, Omit<InputHTMLAttributes<HTMLInputElement>, "id"> {
  ref?: Ref<HTMLInputElement>;
}

/** A labelled input whose hint and error are tied to it for assistive technology. */
export function Field({ label, hint, error, ref, ...input }: FieldProps) {
  const { control, notes } = useDescribed(hint, error);
  return (
    <div className={error ? "field field-invalid" : "field"}>
      <label htmlFor={control.id}>{label}</label>
      <input ref={ref} {...control} {...input} />
      {notes}
    </div>
  );
}

export type TextAreaFieldProps = Described & Omit<TextareaHTMLAttributes<HTMLTextAreaElement>, "id">;

/** Like `Field`, for text of several lines. */
export function TextAreaField({ label, hint, error, ...textarea }: TextAreaFieldProps) {
  const { control, notes } = useDescribed(hint, error);
  return (
    <div className={error ? "field field-invalid" : "field"}>
      <label htmlFor={control.id}>{label}</label>
      <textarea {...control} {...textarea} />
      {notes}
    </div>
  );
}

export type SelectFieldProps = Described & Omit<SelectHTMLAttributes<HTMLSelectElement>, "id">;

/** Like `Field`, for a choice among `<option>` children. */
export function SelectField({ label, hint, error, ...select }: SelectFieldProps) {
  const { control, notes } = useDescribed(hint, error);
  return (
    <div className={error ? "field field-invalid" : "field"}>
      <label htmlFor={control.id}>{label}</label>
      <select {...control} {...select} />
      {notes}
    </div>
  );
}

export type CheckboxFieldProps = Described & Omit<InputHTMLAttributes<HTMLInputElement>, "id" | "type">;

/** A labelled checkbox, its hint and error under it. */
export function CheckboxField({ label, hint, error, ...input }: CheckboxFieldProps) {
  const { control, notes } = useDescribed(hint, error);
  return (
    <div className={error ? "field field-invalid" : "field"}>
      <div className="checkbox">
        <input type="checkbox" {...control} {...input} />
        <label htmlFor={control.id}>{label}</label>
      </div>
      {notes}
    </div>
  );
}
