import { useState, type FormEvent } from "react";
import { loginSecondFactor, type SecondFactorProof } from "../api/auth";
import { isApiError, type FieldErrors, type SecondFactorChallenge } from "../api/client";
import type { User } from "@latchkey/client";
import { useAuth } from "../auth/AuthContext";
import { getPasskey, type RequestOptionsJSON } from "../lib/webauthn";
import { Alert } from "./Alert";
import { Field } from "./Field";
import { Page } from "./Page";
import { PasskeyElsewhere } from "./PasskeyElsewhere";
import { useForm } from "./useForm";
import { usePasskeyAvailability } from "./usePasskeyAvailability";

const CODE_FIELDS = ["code"] as const;

/**
 * The second step of a login (after a password, a passkey or a provider): a
 * code from the authenticator app, a recovery code, or a passkey, whichever of
 * them `pending.methods` offers. `onSignedIn` runs after the session exists;
 * `onExpired` when the challenge has timed out or was used.
 */
export function SecondStep({
  pending,
  onExpired,
  onSignedIn,
}: {
  pending: SecondFactorChallenge;
  onExpired: () => void;
  onSignedIn?: (user: User) => void;
}) {
  const { signedIn } = useAuth();
  const [code, setCode] = useState("");
  const hasTotp = pending.methods.includes("totp");
  const hasRecovery = pending.methods.includes("recovery_code");
  const [recovery, setRecovery] = useState(!hasTotp && hasRecovery);
  const form = useForm(CODE_FIELDS);
  const passkeys = usePasskeyAvailability();
  const passkeyOptions = pending.methods.includes("webauthn") ? pending.webauthn?.publicKey : undefined;

  const finish = async (proof: SecondFactorProof) => {
    try {
      const user = await loginSecondFactor(pending.challenge, proof);
      signedIn(user);
      onSignedIn?.(user);
    } catch (error) {
      if (isApiError(error, "invalid_challenge")) {
        onExpired();
        return;
      }
      throw error;
    }
  };

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const typed = code.trim();
    void form.submit(
      () => finish(recovery ? { recovery_code: typed } : { code: typed.replace(/\s/g, "") }),
      (): FieldErrors => (typed === "" ? { code: recovery ? "Enter one of your recovery codes." : "Enter the 6-digit code." } : {}),
    );
  };

  const onPasskey = (options: RequestOptionsJSON) => {
    void form.submit(async () => finish({ credential: await getPasskey(options) }));
  };

  const passkeyChoice =
    passkeyOptions === undefined ? null : passkeys.kind === "ready" ? (
      <button type="button" className="button button-block" onClick={() => onPasskey(passkeyOptions)} disabled={form.busy}>
        Use a passkey
      </button>
    ) : passkeys.kind === "elsewhere" ? (
      <PasskeyElsewhere host={passkeys.host} url={passkeys.url} />
    ) : null;

  if (!hasTotp && !hasRecovery) {
    return (
      <Page title="Two-step verification" narrow>
        <div id={form.formId} className="card form">
          <p>Confirm it is you with one of your passkeys.</p>
          <Alert message={form.message} />
          {passkeyChoice}
        </div>
      </Page>
    );
  }

  return (
    <Page title="Two-step verification" narrow>
      <form id={form.formId} className="card form" onSubmit={onSubmit} noValidate>
        <p>
          {recovery
            ? "Enter one of the recovery codes you saved when you set up your authenticator app. Each code works once."
            : "Open your authenticator app and enter the 6-digit code it shows for this account."}
        </p>
        <Alert message={form.message} />
        <Field
          label={recovery ? "Recovery code" : "Authentication code"}
          name="code"
          autoComplete="one-time-code"
          inputMode={recovery ? "text" : "numeric"}
          autoCapitalize="none"
          spellCheck={false}
          value={code}
          onChange={(e) => setCode(e.target.value)}
          error={form.errors.code}
          required
          autoFocus
        />
        <button type="submit" className="button button-primary button-block" disabled={form.busy}>
          {form.busy ? "Verifying…" : "Verify"}
        </button>
        {passkeyChoice}
        {hasTotp && hasRecovery ? (
          <button
            type="button"
            className="button button-quiet button-block"
            onClick={() => {
              setRecovery(!recovery);
              setCode("");
              form.clear();
            }}
          >
            {recovery ? "Use the authenticator app instead" : "Use a recovery code instead"}
          </button>
        ) : null}
      </form>
    </Page>
  );
}
