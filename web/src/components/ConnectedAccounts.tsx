import { useEffect, useEffectEvent, useRef, useState } from "react";
import { isApiError } from "../api/client";
import { linkProvider, unlinkIdentity, type MyIdentities } from "../api/federation";
import type { Identity } from "../api/federation";
import type { Provider } from "@latchkey/client";
import { leaveTo } from "../lib/leave";
import { rememberPendingAction, type PendingAction } from "../lib/stepUp";
import { Alert } from "./Alert";
import { ConfirmButton } from "./ConfirmButton";
import { ReauthPrompt } from "./ReauthPrompt";
import { IdentitySummary } from "./IdentitySummary";
import { useForm } from "./useForm";

type Step = { kind: "idle" } | { kind: "reauth"; retry: () => void; pending: PendingAction };

interface ConnectedAccountsProps {
  /** The account's identities; null while loading. */
  mine: MyIdentities | null;
  loadError: string;
  /** The providers this server offers. */
  providers: Provider[];
  /** Fetch `mine` again after a change. */
  reload: () => void;
  /** The user is back from confirming it is them at a provider: the connect or disconnect that interrupted, to finish. */
  resume: PendingAction | null;
}

/**
 * The account page's "Connected accounts": the provider accounts that log in
 * to this one, connecting another (a round trip to the provider), and
 * disconnecting one, which the server refuses when it is the last way in.
 */
export function ConnectedAccounts({ mine, loadError, providers, reload, resume }: ConnectedAccountsProps) {
  const [step, setStep] = useState<Step>({ kind: "idle" });
  const [notice, setNotice] = useState("");
  const [busy, setBusy] = useState<string | null>(null);
  const form = useForm([]);

  // Connecting and disconnecting need a recent login: on
  // `reauthentication_required`, confirm it is you here, then try again.
  const run = async (key: string, pending: PendingAction, action: () => Promise<void>) => {
    setStep({ kind: "idle" });
    setNotice("");
    setBusy(key);
    let leaving = false;
    await form.submit(async () => {
      try {
        await action();
        leaving = pending.kind === "link";
      } catch (error) {
        if (isApiError(error, "reauthentication_required")) {
          setStep({ kind: "reauth", pending, retry: () => void run(key, pending, action) });
          return;
        }
        throw error;
      }
    });
    // On the way to the provider the buttons stay busy until the page is gone.
    if (!leaving) setBusy(null);
  };

  const connect = (provider: Provider) =>
    run(`link:${provider.id}`, { kind: "link", provider: provider.id }, async () =>
      leaveTo(await linkProvider(provider.id, "/account")),
    );

  const disconnect = (identity: Pick<Identity, "id" | "label">) =>
    run(`unlink:${identity.id}`, { kind: "unlink", identity: identity.id, label: identity.label }, async () => {
      try {
        await unlinkIdentity(identity.id);
      } catch (error) {
        // Already gone (disconnected in another tab): the list just needs refreshing.
        if (!isApiError(error, "not_found")) throw error;
      }
      reload();
      setNotice(`Disconnected ${identity.label}. It no longer logs in to this account.`);
    });

  // Once the list is known, retry the action the provider round trip interrupted.
  const finish = useEffectEvent((pending: PendingAction) => {
    if (pending.kind === "link") {
      const provider = providers.find((p) => p.id === pending.provider);
      if (provider) void connect(provider);
    } else if (pending.kind === "unlink") {
      void disconnect({ id: pending.identity, label: pending.label });
    }
  });
  const resumed = useRef(false);
  const loaded = mine !== null;
  useEffect(() => {
    if (!resume || !loaded || resumed.current) return;
    resumed.current = true;
    finish(resume);
  }, [resume, loaded]);

  if (step.kind === "reauth") {
    return (
      <ReauthPrompt
        onConfirmed={step.retry}
        onCancel={() => setStep({ kind: "idle" })}
        beforeLeaving={() => rememberPendingAction(step.pending)}
      />
    );
  }

  const linked = new Set(mine?.identities.map((identity) => identity.provider));
  const connectable = providers.filter((provider) => !linked.has(provider.id));

  return (
    <div className="form identities">
      <p>Log in to this account with an account you already have elsewhere.</p>
      <Alert message={loadError || form.message} />
      <Alert tone="success" message={notice} />
      {mine === null ? (
        loadError ? null : (
          <p className="muted" role="status">
            Loading connected accounts…
          </p>
        )
      ) : mine.identities.length === 0 ? (
        <p className="muted">No connected accounts yet.</p>
      ) : (
        <ul className="session-list" aria-label="Connected accounts">
          {mine.identities.map((identity) => (
            <li key={identity.id} className="session">
              <IdentitySummary identity={identity} />
              <ConfirmButton
                label="Disconnect"
                question={`Disconnect ${identity.label}? It will no longer log in to this account.`}
                accessibleLabel={`Disconnect ${identity.label}`}
                busy={busy === `unlink:${identity.id}`}
                onConfirm={() => void disconnect(identity)}
              />
            </li>
          ))}
        </ul>
      )}
      {mine !== null && connectable.length > 0 ? (
        <div className="button-row">
          {connectable.map((provider) => (
            <button
              key={provider.id}
              type="button"
              className="button"
              disabled={busy !== null}
              onClick={() => void connect(provider)}
            >
              {busy === `link:${provider.id}` ? `Connecting ${provider.label}…` : `Connect ${provider.label}`}
            </button>
          ))}
        </div>
      ) : null}
    </div>
  );
}
