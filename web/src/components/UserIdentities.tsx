import { useResource } from "@latchkey/client/react";
import { useState } from "react";
import { errorMessage, isApiError } from "../api/client";
import { listUserIdentities, removeUserIdentity } from "../api/federation";
import type { Identity } from "../api/federation";
import type { User } from "@latchkey/client";
import { Alert } from "./Alert";
import { ConfirmButton } from "./ConfirmButton";
import { IdentitySummary } from "./IdentitySummary";

/** For admins: the provider accounts that log in to `user`, each removable. */
export function UserIdentities({ user }: { user: User }) {
  const loaded = useResource((signal) => listUserIdentities(user.id, signal), [user.id]);
  const identities = loaded.data?.identities ?? null;
  const hasPassword = loaded.data?.has_password;
  const [actionError, setError] = useState("");
  const error = actionError || (loaded.error ? errorMessage(loaded.error) : "");
  const [notice, setNotice] = useState("");
  const [removing, setRemoving] = useState<Identity["id"] | null>(null);

  const remove = async (identity: Identity) => {
    setRemoving(identity.id);
    setError("");
    setNotice("");
    try {
      await removeUserIdentity(user.id, identity.id);
      setNotice(`${identity.label} no longer logs in to ${user.username}.`);
    } catch (e) {
      // Already removed elsewhere: the list below is simply out of date.
      if (!isApiError(e, "not_found")) {
        setError(
          isApiError(e, "last_credential")
            ? `That is the only way ${user.username} can log in: they need a password or a passkey first.`
            : errorMessage(e),
        );
        return;
      }
    } finally {
      setRemoving(null);
    }
    loaded.update((current) => ({ ...current, identities: current.identities.filter((i) => i.id !== identity.id) }));
  };

  return (
    <div className="user-identities" aria-label={`Connected accounts of ${user.username}`} role="group">
      <Alert message={error} />
      <Alert tone="success" message={notice} />
      {identities === null ? (
        error ? null : (
          <p className="muted" role="status">
            Loading connected accounts…
          </p>
        )
      ) : identities.length === 0 ? (
        <p className="muted">{user.username} has no connected accounts.</p>
      ) : (
        <>
          {hasPassword === false ? (
            <p className="muted">{user.username} has no password: they log in only through these.</p>
          ) : null}
          <ul className="session-list">
            {identities.map((identity) => (
              <li key={identity.id} className="session">
                <IdentitySummary identity={identity} showVerified />
                <ConfirmButton
                  label="Remove"
                  question={`Remove ${identity.label} from ${user.username}?`}
                  accessibleLabel={`Remove ${identity.label} from ${user.username}`}
                  busy={removing === identity.id}
                  onConfirm={() => void remove(identity)}
                />
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}
