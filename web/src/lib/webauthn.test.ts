import { afterEach, describe, expect, it, vi } from "vitest";
import { installAuthenticator, uninstallAuthenticator } from "../test/webauthnMock";
import { createPasskey, getPasskey, PasskeyDialogError } from "./webauthn";

afterEach(() => {
  vi.unstubAllGlobals();
  uninstallAuthenticator();
});

const NEW_PASSKEY = { rp: { name: "latchkey" }, user: { id: "AQ", name: "ada", displayName: "ada" }, challenge: "AQ", pubKeyCredParams: [] };

function refusing(name: string) {
  const refuse = () => Promise.reject(new DOMException("worded for developers", name));
  installAuthenticator({ create: refuse, get: refuse });
}

// The encoding and the dialog itself are @latchkey/client's (tested there); the wording is the app's.
describe("a failed passkey dialog, worded for people", () => {
  it.each([
    ["NotAllowedError", "No passkey was created: the dialog was closed or timed out.", "No passkey was used: the dialog was closed or timed out."],
    ["InvalidStateError", "This device already holds a passkey for your account.", "This device cannot use that passkey."],
    ["SecurityError", /refused passkeys at this address/, /refused passkeys at this address/],
    ["AbortError", "The passkey dialog was closed.", "The passkey dialog was closed."],
    ["NotSupportedError", /cannot make a passkey of a kind/, /cannot make a passkey of a kind/],
    ["UnknownError", "The passkey dialog failed. Please try again.", "The passkey dialog failed. Please try again."],
  ])("%s", async (name, whenCreating, whenUsing) => {
    refusing(name);
    const created = createPasskey(NEW_PASSKEY);
    await expect(created).rejects.toBeInstanceOf(PasskeyDialogError);
    await expect(created).rejects.toThrow(whenCreating);
    await expect(getPasskey({ challenge: "AQ" })).rejects.toThrow(whenUsing);
  });
});
