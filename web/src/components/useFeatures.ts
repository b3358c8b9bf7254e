import type { Features } from "@latchkey/client";
import { useResource } from "@latchkey/client/react";
import { getFeatures } from "../api/recovery";

// Fixed for the life of the server process, so one answer serves every page.
let known: Promise<Features> | null = null;

function cachedFeatures(): Promise<Features> {
  known ??= getFeatures().catch((error: unknown) => {
    known = null;
    throw error;
  });
  return known;
}

const NOTHING_OPTIONAL: Features = {
  signup: true,
  email: false,
  require_verified_email: false,
  passkeys: false,
  passkey_rp_id: null,
  providers: [],
};

/**
 * The server's optional features; null until known, and treated as "off"
 * when they cannot be fetched, so a link is never shown to a dead end.
 */
export function useFeatures(): Features | null {
  const { data, error } = useResource(cachedFeatures, []);
  return data ?? (error ? NOTHING_OPTIONAL : null);
}

/** For tests: forget the cached answer. */
export function forgetFeatures() {
  known = null;
}
