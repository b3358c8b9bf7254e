import { useResource } from "@latchkey/client/react";
import { useRef, useState, type FormEvent } from "react";
import { renderSVG } from "uqr";
import { isApiError, type FieldErrors } from "../api/client";
import {
  beginTotp,
  confirmTotp,
  disableTotp,
  mySecondFactors,
  regenerateRecoveryCodes,
  type TotpEnrolment,
} from "../api/factors";
import { rememberPendingAction } from "../lib/stepUp";
import { Alert } from "./Alert";
import { CurrentPasswordField } from "./CurrentPasswordField";
import { Field } from "./Field";
import { ReauthPrompt } from "./ReauthPrompt";
import { RecoveryCodesPanel } from "./RecoveryCodesPanel";
import { useStepUp } from "./StepUpContext";
import { SubmitOrCancel } from "./SubmitOrCancel";
import { useForm } from "./useForm";

type Step =
  | { kind: "idle" }
  | { kind: "reauth"; retry: () => void }
  | { kind: "enrolling"; enrolment: TotpEnrolment }
  | { kind: "codes"; codes: string[] }
  | { kind: "disabling"; resumed?: boolean };

/**
 * The account page's two-step verification: the authenticator app and
 * recovery codes. `resumeDisable`: the user is back from confirming it is
 * them at a provider in order to turn the app off; the form opens again.
 */
export function SecuritySection({ username, resumeDisable = false }: { username: string; resumeDisable?: boolean }) {
  const [step, setStep] = useState<Step>({ kind: "idle" });
  const form = useForm([]);

  // Back from the provider to turn the app off: once it is known to be still
  // on (not turned off in another tab meanwhile), ask for a code again.
  const resumed = useRef(false);
  const factors = useResource(async (signal) => {
    const value = await mySecondFactors(signal);
    if (resumeDisable && !resumed.current) {
      resumed.current = true;
      if (value.totp_enabled) setStep({ kind: "disabling", resumed: true });
    }
    return value;
  }, []);
  const status = factors.data ?? null;

  const reload = () => {
    setStep({ kind: "idle" });
    factors.reload();
  };

  // A sensitive change answers `reauthentication_required` when the login is
  // older than the step-up window: ask for the password here, then retry.
  const run = (action: () => Promise<void>) => {
    void form.submit(async () => {
      try {
        await action();
      } catch (error) {
        if (isApiError(error, "reauthentication_required")) {
          setStep({ kind: "reauth", retry: () => run(action) });
          return;
        }
        throw error;
      }
    });
  };

  const start = () => run(async () => setStep({ kind: "enrolling", enrolment: await beginTotp() }));
  const newCodes = () =>
    run(async () => setStep({ kind: "codes", codes: (await regenerateRecoveryCodes()).recovery_codes }));

  if (step.kind === "reauth") {
    return <ReauthPrompt onConfirmed={step.retry} onCancel={() => setStep({ kind: "idle" })} />;
  }
  if (step.kind === "enrolling") {
    return (
      <Enrol
        enrolment={step.enrolment}
        onEnabled={(codes) => setStep({ kind: "codes", codes })}
        onCancel={reload}
      />
    );
  }
  if (step.kind === "codes") {
    return <RecoveryCodesPanel codes={step.codes} username={username} onDone={reload} />;
  }
  if (step.kind === "disabling") {
    return <Disable resumed={step.resumed ?? false} onDisabled={reload} onCancel={() => setStep({ kind: "idle" })} />;
  }
  if (!status) return <p className="muted">Loading…</p>;

  return (
    <div className="form">
      <Alert message={form.message} />
      {status.totp_enabled ? (
        <>
          <p>
            <strong>Authenticator app: on.</strong> Logging in asks for a code from your app after your password or connected account.{" "}
            {status.recovery_codes_left === 1
              ? "1 recovery code left."
              : `${status.recovery_codes_left} recovery codes left.`}
          </p>
          <div className="button-row">
            <button type="button" className="button" onClick={newCodes} disabled={form.busy}>
              New recovery codes
            </button>
            <button type="button" className="button button-danger-quiet" onClick={() => setStep({ kind: "disabling" })}>
              Turn off
            </button>
          </div>
        </>
      ) : (
        <>
          <p>
            Protect your account with a second step at login: a code from an authenticator app on your phone (such as
            Google Authenticator, Aegis or 1Password).
          </p>
          <button type="button" className="button button-primary" onClick={start} disabled={form.busy}>
            Set up authenticator app
          </button>
        </>
      )}
    </div>
  );
}

function Enrol({
  enrolment,
  onEnabled,
  onCancel,
}: {
  enrolment: TotpEnrolment;
  onEnabled: (codes: string[]) => void;
  onCancel: () => void;
}) {
  const [code, setCode] = useState("");
  const form = useForm(["code"]);
  const qr = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(renderSVG(enrolment.otpauth_url))}`;

  const onSubmit = async (event: FormEvent) => {
    event.preventDefault();
    const typed = code.replace(/\s/g, "");
    let codes: string[] = [];
    const ok = await form.submit(
      async () => {
        codes = (await confirmTotp(typed)).recovery_codes;
      },
      (): FieldErrors => (/^\d{6}$/.test(typed) ? {} : { code: "Enter the 6-digit code your app shows." }),
    );
    if (ok) onEnabled(codes);
  };

  return (
    <form id={form.formId} className="form" onSubmit={onSubmit} noValidate aria-label="Set up authenticator app">
      <p>Scan this QR code with your authenticator app, then enter the code it shows.</p>
      <img className="totp-qr" src={qr} alt="QR code for your authenticator app" width={200} height={200} />
      <p>
        Cannot scan? Enter this key instead: <code data-testid="totp-secret">{enrolment.secret}</code>
      </p>
      <Alert message={form.message} />
      <Field
        label="Code from the app"
        name="code"
        autoComplete="one-time-code"
        inputMode="numeric"
        value={code}
        onChange={(e) => setCode(e.target.value)}
        error={form.errors.code}
        required
      />
      <SubmitOrCancel label="Turn on" busyLabel="Turning on…" busy={form.busy} onCancel={onCancel} />
    </form>
  );
}

/**
 * Turning the app off takes a code from it (or a recovery code) and the
 * password. An account without a password gives only the code: a recent
 * login at its provider stands in for the password, confirmed here when the
 * server asks for it. `resumed`: back from that confirmation, for a new code.
 */
function Disable({ resumed, onDisabled, onCancel }: { resumed: boolean; onDisabled: () => void; onCancel: () => void }) {
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [stepUp, setStepUp] = useState(false);
  const form = useForm(["password", "code"]);
  const { hasPassword } = useStepUp();

  const submit = async () => {
    setStepUp(false);
    const typed = code.trim();
    const proof = /^\d{6}$/.test(typed.replace(/\s/g, "")) ? { code: typed.replace(/\s/g, "") } : { recovery_code: typed };
    let needsStepUp = false;
    const ok = await form.submit(
      async () => {
        try {
          await disableTotp(hasPassword ? password : undefined, proof);
        } catch (error) {
          if (!hasPassword && isApiError(error, "reauthentication_required")) {
            needsStepUp = true;
            return;
          }
          throw error;
        }
      },
      () => ({
        ...(hasPassword && password === "" ? { password: "Enter your password." } : {}),
        ...(typed === "" ? { code: "Enter a code from your app or a recovery code." } : {}),
      }),
    );
    if (needsStepUp) setStepUp(true);
    else if (ok) onDisabled();
  };

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    void submit();
  };

  if (stepUp) {
    // A passkey confirms in place and the same code is sent again; the
    // provider's round trip leaves the page, and the form opens again on return.
    return (
      <ReauthPrompt
        onConfirmed={() => void submit()}
        onCancel={() => setStepUp(false)}
        beforeLeaving={() => rememberPendingAction({ kind: "disable_totp" })}
      />
    );
  }

  return (
    <form id={form.formId} className="form" onSubmit={onSubmit} noValidate aria-label="Turn off authenticator app">
      <Alert
        tone="info"
        message={resumed ? "To finish turning the authenticator app off, enter the code it shows now, or a recovery code." : ""}
      />
      <Alert message={form.message} />
      {hasPassword ? (
        <CurrentPasswordField value={password} onChange={(e) => setPassword(e.target.value)} error={form.errors.password} />
      ) : null}
      <Field
        label="Code from the app, or a recovery code"
        name="code"
        autoComplete="one-time-code"
        value={code}
        onChange={(e) => setCode(e.target.value)}
        error={form.errors.code}
        required
        autoFocus={resumed}
      />
      <SubmitOrCancel label="Turn off authenticator app" busyLabel="Turning off…" busy={form.busy} onCancel={onCancel} danger />
    </form>
  );
}
