import { useCallback, useEffect, useState } from "react";

export interface Loaded<T> {
  /** null until the first answer. */
  value: T | null;
  /** The last load's failure (an ApiError), cleared by `reload` and by a later success. */
  error: unknown;
  reload: () => void;
  /** Changes the loaded value in place after a change the server has confirmed. */
  update: (change: (value: T) => T) => void;
}

/**
 * Fetches once per `load` (keep it stable with useCallback) and again on
 * `reload`; an answer that arrives after unmounting is dropped. `null` loads
 * nothing, for a page that has nothing to ask about.
 */
export function useLoad<T>(load: ((signal: AbortSignal) => Promise<T>) | null): Loaded<T> {
  const [value, setValue] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [version, setVersion] = useState(0);

  useEffect(() => {
    if (!load) return;
    const controller = new AbortController();
    load(controller.signal).then(
      (answer) => {
        setValue(answer);
        setError(null);
      },
      (e: unknown) => {
        if (!controller.signal.aborted) setError(e);
      },
    );
    return () => controller.abort();
  }, [load, version]);

  // A retry after a failure shows "loading" again rather than the old error.
  const reload = useCallback(() => {
    setError(null);
    setVersion((n) => n + 1);
  }, []);
  const update = useCallback((change: (value: T) => T) => setValue((current) => (current === null ? current : change(current))), []);
  return { value, error, reload, update };
}
