import { useResource } from "@latchkey/client/react";
import { useState, type FormEvent } from "react";
import { errorMessage, isApiError, type FieldErrors } from "../api/client";
import { beginPasskeyRegistration, deletePasskey, finishPasskeyRegistration, listMyPasskeys } from "../api/passkeys";
import type { Passkey } from "../api/passkeys";
import { describeUserAgent } from "../lib/userAgent";
import { passkeyNameProblem } from "../lib/validation";
import { createPasskey } from "../lib/webauthn";
import { Alert } from "./Alert";
import { ConfirmButton } from "./ConfirmButton";
import { Field } from "./Field";
import { PasskeyElsewhere } from "./PasskeyElsewhere";
import { ReauthPrompt } from "./ReauthPrompt";
import { SubmitOrCancel } from "./SubmitOrCancel";
import { Time } from "./Time";
import { useForm } from "./useForm";
import { usePasskeyAvailability } from "./usePasskeyAvailability";

type Step = { kind: "idle" } | { kind: "naming" } | { kind: "reauth"; retry: () => void };

/**
 * The account page's passkeys: the list, adding one on this device, removing
 * one. Listing and removing work in any browser; adding needs one that can
 * make passkeys for the server's host.
 */
export function PasskeySection() {
  const availability = usePasskeyAvailability();
  const list = useResource(listMyPasskeys, []);
  const passkeys = list.data ?? null;
  const loadError = list.error ? errorMessage(list.error) : "";
  const [notice, setNotice] = useState("");
  const [step, setStep] = useState<Step>({ kind: "idle" });
  const [removing, setRemoving] = useState<Passkey["id"] | null>(null);
  const form = useForm([]);

  const reload = list.reload;

  const remove = (passkey: Passkey) => {
    setNotice("");
    setRemoving(passkey.id);
    void form
      .submit(async () => {
        try {
          await deletePasskey(passkey.id);
        } catch (error) {
          // A removal needs a recent login: confirm the password here, then try again.
          if (isApiError(error, "reauthentication_required")) {
            setStep({ kind: "reauth", retry: () => remove(passkey) });
            return;
          }
          // Already gone (removed in another tab): the list just needs refreshing.
          if (!isApiError(error, "not_found")) throw error;
        }
        setStep({ kind: "idle" });
        setNotice(`Passkey “${passkey.name}” removed. It no longer logs in, though your device may still offer it.`);
      })
      .finally(() => {
        setRemoving(null);
        reload();
      });
  };

  if (step.kind === "reauth") {
    return <ReauthPrompt onConfirmed={step.retry} onCancel={() => setStep({ kind: "idle" })} />;
  }

  return (
    <div className="form passkeys">
      <p>
        A passkey logs you in with your device's screen lock or security key instead of your password. With an
        authenticator app set up, it can also be the second step after your password or connected account.
      </p>
      <Alert message={loadError || form.message} />
      <Alert tone="success" message={notice} />
      {passkeys === null ? (
        loadError ? null : (
          <p className="muted" role="status">
            Loading passkeys…
          </p>
        )
      ) : passkeys.length === 0 ? (
        <p className="muted">No passkeys yet.</p>
      ) : (
        <ul className="session-list" aria-label="Your passkeys">
          {passkeys.map((passkey) => (
            <li key={passkey.id} className="session">
              <div className="session-main">
                <span className="session-device">{passkey.name}</span>
                <span className="session-details">
                  added <Time iso={passkey.created_at} /> ·{" "}
                  {passkey.last_used_at ? (
                    <>
                      last used <Time iso={passkey.last_used_at} relative />
                    </>
                  ) : (
                    "never used"
                  )}
                </span>
              </div>
              <ConfirmButton
                label="Remove"
                question={`Remove the passkey “${passkey.name}”?`}
                accessibleLabel={`Remove passkey ${passkey.name}`}
                busy={removing === passkey.id}
                onConfirm={() => remove(passkey)}
              />
            </li>
          ))}
        </ul>
      )}
      {step.kind === "naming" ? (
        <AddPasskey
          onAdded={(passkey) => {
            setStep({ kind: "idle" });
            setNotice(`Passkey “${passkey.name}” added.`);
            reload();
          }}
          onCancel={() => setStep({ kind: "idle" })}
        />
      ) : availability.kind === "ready" ? (
        <button
          type="button"
          className="button button-primary"
          onClick={() => {
            setNotice("");
            form.clear();
            setStep({ kind: "naming" });
          }}
        >
          Add a passkey
        </button>
      ) : availability.kind === "elsewhere" ? (
        <PasskeyElsewhere host={availability.host} url={availability.url} />
      ) : (
        <p className="muted">This browser cannot make passkeys.</p>
      )}
    </div>
  );
}

/** Asks for a name, then runs the browser's dialog and registers what it made. */
function AddPasskey({ onAdded, onCancel }: { onAdded: (passkey: Passkey) => void; onCancel: () => void }) {
  const [name, setName] = useState(() => describeUserAgent(navigator.userAgent));
  const [reauth, setReauth] = useState(false);
  const form = useForm(["name"]);

  const add = async () => {
    let added: Passkey | null = null;
    await form.submit(
      async () => {
        try {
          const { ceremony, options } = await beginPasskeyRegistration();
          const credential = await createPasskey(options.publicKey);
          added = await finishPasskeyRegistration(ceremony, name.trim(), credential);
        } catch (error) {
          // Adding a way to log in needs a recent login: confirm the password, then start again.
          if (isApiError(error, "reauthentication_required")) {
            setReauth(true);
            return;
          }
          throw error;
        }
      },
      (): FieldErrors => {
        const problem = passkeyNameProblem(name);
        return problem ? { name: problem } : {};
      },
    );
    if (added) onAdded(added);
  };

  if (reauth) {
    return (
      <ReauthPrompt
        onConfirmed={() => {
          setReauth(false);
          void add();
        }}
        onCancel={onCancel}
      />
    );
  }

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    void add();
  };

  return (
    <form id={form.formId} className="form" onSubmit={onSubmit} noValidate aria-label="Add a passkey">
      <Alert message={form.message} />
      <Field
        label="Passkey name"
        name="name"
        autoComplete="off"
        value={name}
        onChange={(e) => setName(e.target.value)}
        hint="To tell your passkeys apart, such as the device or security key that holds it."
        error={form.errors.name}
        maxLength={64}
        required
        autoFocus
      />
      <SubmitOrCancel label="Create passkey" busyLabel="Waiting for your device…" busy={form.busy} onCancel={onCancel} holdCancel />
    </form>
  );
}
