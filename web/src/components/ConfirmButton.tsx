import { useEffect, useRef, useState } from "react";

interface ConfirmButtonProps {
  /** The first button's text, e.g. "Delete". */
  label: string;
  /** What will happen, asked before it does, e.g. "Delete ada and everything they wrote?". */
  question: string;
  confirmLabel?: string;
  busy?: boolean;
  onConfirm: () => void;
  /** The subject, for screen readers when many such buttons share a label ("Delete post by ada"). */
  accessibleLabel?: string;
}

/**
 * A destructive action in two steps, inline instead of a modal dialog, so it
 * works the same with a keyboard, a screen reader and a thumb.
 */
export function ConfirmButton({ label, question, confirmLabel = label, busy = false, onConfirm, accessibleLabel }: ConfirmButtonProps) {
  const [asking, setAsking] = useState(false);
  const confirmRef = useRef<HTMLButtonElement>(null);
  const startRef = useRef<HTMLButtonElement>(null);
  const wasAsking = useRef(false);

  useEffect(() => {
    if (asking) confirmRef.current?.focus();
    else if (wasAsking.current) startRef.current?.focus();
    wasAsking.current = asking;
  }, [asking]);

  if (!asking) {
    return (
      <button ref={startRef} type="button" className="button button-danger-quiet" aria-label={accessibleLabel} disabled={busy} onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  }
  return (
    <span className="confirm" role="group" aria-label={question}>
      <span className="confirm-question">{question}</span>
      <button
        ref={confirmRef}
        type="button"
        className="button button-danger"
        disabled={busy}
        onClick={() => {
          onConfirm();
          setAsking(false);
        }}
      >
        {busy ? "Working…" : confirmLabel}
      </button>
      <button type="button" className="button button-quiet" disabled={busy} onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}
