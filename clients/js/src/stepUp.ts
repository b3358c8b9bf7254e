import { isLatchkeyError, type LatchkeyError } from "./errors.js";

/**
 * What confirms it is you: the password, a code from the authenticator app,
 * or "passkey" for the browser's passkey dialog. null gives up, and the
 * original `reauthentication_required` error is thrown.
 */
export type StepUpProof = { password: string } | { code: string } | "passkey" | null;

export type StepUpConfirm = (error: LatchkeyError) => Promise<StepUpProof> | StepUpProof;

export interface StepUpHost {
  reauthenticate(proof: { password: string } | { code: string }): Promise<void>;
  readonly passkeys: { reauthenticate(): Promise<void> };
}

/**
 * Sensitive changes need a recent login. Runs `action`; when the server
 * answers 403 `reauthentication_required`, asks `confirm`, renews the login
 * with what it gives, and runs `action` once more.
 */
export async function withStepUp<T>(host: StepUpHost, action: () => Promise<T>, confirm: StepUpConfirm): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (!isLatchkeyError(error, "reauthentication_required" as LatchkeyError["code"])) throw error;
    const proof = await confirm(error);
    if (proof === null) throw error;
    if (proof === "passkey") await host.passkeys.reauthenticate();
    else await host.reauthenticate(proof);
    return action();
  }
}
