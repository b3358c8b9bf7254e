import { useEffect, useState, type FormEvent } from "react";
import type { FieldErrors } from "../api/client";
import { reauthenticate } from "../api/factors";
import { listMyPasskeys, passkeyReauthenticationOptions, reauthenticateWithPasskey } from "../api/passkeys";
import { getPasskey } from "../lib/webauthn";
import { Alert } from "./Alert";
import { CurrentPasswordField } from "./CurrentPasswordField";
import { SubmitOrCancel } from "./SubmitOrCancel";
import { useForm } from "./useForm";
import { usePasskeyAvailability } from "./usePasskeyAvailability";

const FIELDS = ["password"] as const;

/**
 * Shown in place when the server answered `reauthentication_required`: the
 * password (or one of the account's passkeys, where this page can use them)
 * renews the session's authentication, then `onConfirmed` retries what was
 * refused.
 */
export function ReauthPrompt({ onConfirmed, onCancel }: { onConfirmed: () => void; onCancel: () => void }) {
  const [password, setPassword] = useState("");
  const form = useForm(FIELDS);
  const passkeysHere = usePasskeyAvailability().kind === "ready";
  const [hasPasskey, setHasPasskey] = useState(false);

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
