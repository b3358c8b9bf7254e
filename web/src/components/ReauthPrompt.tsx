import { useEffect, useState, type FormEvent } from "react";
import { useLocation } from "react-router";
import type { FieldErrors } from "../api/client";
import { reauthenticate } from "../api/factors";
import { reauthenticateWithProvider } from "../api/federation";
import { listMyPasskeys, passkeyReauthenticationOptions, reauthenticateWithPasskey } from "../api/passkeys";
import type { Provider } from "@latchkey/client";
import { leaveTo } from "../lib/leave";
import { forgetPendingAction } from "../lib/stepUp";
import { getPasskey } from "../lib/webauthn";
import { Alert } from "./Alert";
import { CurrentPasswordField } from "./CurrentPasswordField";
import { useStepUp } from "./StepUpContext";
import { SubmitOrCancel } from "./SubmitOrCancel";
import { useForm } from "./useForm";
import { usePasskeyAvailability } from "./usePasskeyAvailability";

const FIELDS = ["password"] as const;

/**
 * Shown in place when the server answered `reauthentication_required`: the
 * password (or one of the account's passkeys, where this page can use them)
 * renews the session's authentication, then `onConfirmed` retries what was
 * refused. An account without a password confirms with a fresh login at one
 * of its providers instead: that leaves the page, and `beforeLeaving` may
 * note what to retry when the provider sends the user back here (without it,
 * nothing is retried).
 */
export function ReauthPrompt({
  onConfirmed,
  onCancel,
  beforeLeaving,
}: {
  onConfirmed: () => void;
  onCancel: () => void;
  beforeLeaving?: () => void;
}) {
  const [password, setPassword] = useState("");
  const form = useForm(FIELDS);
  const passkeysHere = usePasskeyAvailability().kind === "ready";
  const [hasPasskey, setHasPasskey] = useState(false);
  const stepUp = useStepUp();
  const { pathname } = useLocation();

  useEffect(() => {
    if (!passkeysHere) return;
    const controller = new AbortController();
    listMyPasskeys(controller.signal).then((passkeys) => setHasPasskey(passkeys.length > 0), () => undefined);
    return () => controller.abort();
  }, [passkeysHere]);

  const onSubmit = async (event: FormEvent) => {
    event.preventDefault();
    const ok = await form.submit(
      () => reauthenticate(password),
      (): FieldErrors => (password === "" ? { password: "Enter your password." } : {}),
    );
    if (ok) onConfirmed();
  };

  const onPasskey = async () => {
    const ok = await form.submit(async () => {
      const { ceremony, options } = await passkeyReauthenticationOptions();
      await reauthenticateWithPasskey(ceremony, await getPasskey(options.publicKey));
    });
    if (ok) onConfirmed();
  };

  const onProvider = (provider: Provider) => {
    void form.submit(async () => {
      const url = await reauthenticateWithProvider(provider.id, pathname);
      if (beforeLeaving) beforeLeaving();
      else forgetPendingAction();
      leaveTo(url);
    });
  };

  if (!stepUp.hasPassword) {
    const names = stepUp.providers.map((p) => p.label).join(" or ");
    return (
      <div id={form.formId} className="form" role="group" aria-label="Confirm it is you">
        <Alert
          tone="info"
          message={
            stepUp.providers.length > 0
              ? `For your security, confirm it is you: log in again with ${names}. You will come back here afterwards.`
              : "For your security, confirm it is you with one of your passkeys."
          }
        />
        <Alert message={form.message} />
        <div className="button-row">
          {stepUp.providers.map((provider) => (
            <button
              key={provider.id}
              type="button"
              className="button button-primary"
              disabled={form.busy}
              onClick={() => onProvider(provider)}
            >
              Confirm with {provider.label}
            </button>
          ))}
          {passkeysHere && hasPasskey ? (
            <button type="button" className="button" disabled={form.busy} onClick={() => void onPasskey()}>
              Use a passkey
            </button>
          ) : null}
          <button type="button" className="button button-quiet" onClick={onCancel}>
            Cancel
          </button>
        </div>
      </div>
    );
  }

  return (
    <form id={form.formId} className="form" onSubmit={onSubmit} noValidate aria-label="Confirm it is you">
      <Alert tone="info" message="For your security, confirm your password to continue." />
      <Alert message={form.message} />
      <CurrentPasswordField value={password} onChange={(e) => setPassword(e.target.value)} error={form.errors.password} autoFocus />
      <SubmitOrCancel label="Confirm" busyLabel="Confirming…" busy={form.busy} onCancel={onCancel} />
      {passkeysHere && hasPasskey ? (
        <button type="button" className="button button-block" disabled={form.busy} onClick={() => void onPasskey()}>
          Use a passkey instead
        </button>
      ) : null}
    </form>
  );
}
