import { useEffect, useState } from "react";
import { getFeatures } from "../api/recovery";
import type { Features } from "../api/types";

// Fixed for the life of the server process, so one answer serves every page.
let known: Promise<Features> | null = null;

/**
 * The server's optional features; null until known, and treated as "off"
 * when they cannot be fetched, so a link is never shown to a dead end.
 */
export function useFeatures(): Features | null {
  const [features, setFeatures] = useState<Features | null>(null);
  useEffect(() => {
    let live = true;
    known ??= getFeatures().catch((error: unknown) => {
      known = null;
      throw error;
    });
    known.then(
      (value) => live && setFeatures(value),
      () => live && setFeatures({ signup: true, email: false, require_verified_email: false, passkeys: false, passkey_rp_id: null, providers: [] }),
    );
    return () => {
      live = false;
    };
  }, []);
  return features;
}

/** For tests: forget the cached answer. */
export function forgetFeatures() {
  known = null;
}
