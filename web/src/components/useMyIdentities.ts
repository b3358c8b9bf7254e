import { useCallback, useEffect, useState } from "react";
import { errorMessage } from "../api/client";
import { listMyIdentities, type MyIdentities } from "../api/federation";

/**
 * The account's connected provider accounts and whether it has a password,
 * fetched only when `enabled` (the server offers providers).
 */
export function useMyIdentities(enabled: boolean) {
  const [mine, setMine] = useState<MyIdentities | null>(null);
  const [error, setError] = useState("");
  const [version, setVersion] = useState(0);

  useEffect(() => {
    if (!enabled) return;
    const controller = new AbortController();
    listMyIdentities(controller.signal).then(
      (value) => {
        setMine(value);
        setError("");
      },
      (e: unknown) => {
        if (!controller.signal.aborted) setError(errorMessage(e));
      },
    );
    return () => controller.abort();
  }, [enabled, version]);

  const reload = useCallback(() => setVersion((n) => n + 1), []);
  return { mine, error, reload };
}
