import { useResource } from "@latchkey/client/react";
import { errorMessage } from "../api/client";
import { listMyIdentities } from "../api/federation";

/**
 * The account's connected provider accounts and whether it has a password,
 * fetched only when `enabled` (the server offers providers).
 */
export function useMyIdentities(enabled: boolean) {
  const { data, error, reload } = useResource(enabled ? listMyIdentities : null, [enabled]);
  return { mine: data ?? null, error: error ? errorMessage(error) : "", reload };
}
