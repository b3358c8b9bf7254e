import { browserSupportsPasskeys, passkeyAvailability, type PasskeyAvailability } from "../lib/webauthn";
import { useFeatures } from "./useFeatures";

/** Whether this page can offer passkeys; "off" also while the server's features are not known yet. */
export function usePasskeyAvailability(): PasskeyAvailability {
  return passkeyAvailability(useFeatures(), window.location, browserSupportsPasskeys());
}
