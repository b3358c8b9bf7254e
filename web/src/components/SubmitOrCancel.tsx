interface SubmitOrCancelProps {
  label: string;
  /** Shown on the submit button while the form is busy, e.g. "Saving…". */
  busyLabel: string;
  busy: boolean;
  onCancel: () => void;
  /** For a submit that takes something away, such as turning off a second factor. */
  danger?: boolean;
  /** Whether Cancel is also disabled while the form is busy. */
  holdCancel?: boolean;
}

/** The closing row of a form shown in place of something: submit it, or go back without doing anything. */
export function SubmitOrCancel({ label, busyLabel, busy, onCancel, danger = false, holdCancel = false }: SubmitOrCancelProps) {
  return (
    <div className="button-row">
      <button type="submit" className={danger ? "button button-danger" : "button button-primary"} disabled={busy}>
        {busy ? busyLabel : label}
      </button>
      <button type="button" className="button button-quiet" onClick={onCancel} disabled={holdCancel && busy}>
        Cancel
      </button>
    </div>
  );
}
