// The browser's passkey dialogs, through @latchkey/client (which does the
// JSON <-> ArrayBuffer encoding), with the failures worded for this app.

import {
  createPasskey as createWithBrowser,
  getPasskey as getWithBrowser,
  PasskeyDialogError,
  type AssertionJSON,
  type CreationOptionsJSON,
  type PasskeyDialogReason,
  type RegistrationJSON,
  type RequestOptionsJSON,
} from "@latchkey/client";

export { browserSupportsPasskeys, PasskeyDialogError, passkeyAvailability } from "@latchkey/client";
export type { AssertionJSON, CreationOptionsJSON, PasskeyAvailability, RegistrationJSON, RequestOptionsJSON } from "@latchkey/client";

/** The browser's passkey dialog for a new passkey; resolves with what `POST /api/me/passkeys` takes. */
export function createPasskey(options: CreationOptionsJSON): Promise<RegistrationJSON> {
  return createWithBrowser(options).catch((error: unknown) => {
    throw worded(error);
  });
}

/** The browser's passkey dialog for a login; resolves with the signed assertion. */
export function getPasskey(options: RequestOptionsJSON): Promise<AssertionJSON> {
  return getWithBrowser(options).catch((error: unknown) => {
    throw worded(error);
  });
}

// The browser words its errors for developers, and "cancelled" covers both a
// closed and a timed-out dialog, which browsers deliberately do not tell apart.
const CREATE: Record<PasskeyDialogReason, string> = {
  cancelled: "No passkey was created: the dialog was closed or timed out.",
  aborted: "The passkey dialog was closed.",
  exists: "This device already holds a passkey for your account.",
  insecure: "This browser refused passkeys at this address. Open the app at its usual address and try again.",
  unsupported: "This device cannot make a passkey of a kind this server accepts.",
  failed: "The passkey dialog failed. Please try again.",
};

const GET: Record<PasskeyDialogReason, string> = {
  ...CREATE,
  cancelled: "No passkey was used: the dialog was closed or timed out.",
  exists: "This device cannot use that passkey.",
};

function worded(error: unknown): unknown {
  if (!(error instanceof PasskeyDialogError)) return error;
  const message = (error.action === "create" ? CREATE : GET)[error.reason];
  return new PasskeyDialogError(error.reason, error.action, { cause: error.cause, message });
}
