import { useResource } from "@latchkey/client/react";
import { useState } from "react";
import { errorMessage, isApiError } from "../api/client";
import { listMyGrants, revokeMyGrant } from "../api/oauth2";
import type { Grant } from "../api/oauth2";
import { describeScope } from "../lib/scopes";
import { Alert } from "./Alert";
import { ConfirmButton } from "./ConfirmButton";
import { Time } from "./Time";

/**
 * The account page's "Apps you allowed": the apps that log in with this
 * account without asking again, what each may see, and taking that back.
 */
export function AllowedApps() {
  const grants = useResource(listMyGrants, []);
  const [busy, setBusy] = useState<Grant["id"] | null>(null);
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");

  const revoke = async (grant: Grant) => {
    setBusy(grant.id);
    setError("");
    setNotice("");
    try {
      await revokeMyGrant(grant.id);
      grants.update((list) => list.filter((g) => g.id !== grant.id));
      setNotice(`${grant.client_name} no longer has access to your account. It will ask you again next time.`);
    } catch (e) {
      // Already gone (revoked in another tab, or the app was removed): the list just needs refreshing.
      if (isApiError(e, "not_found")) grants.reload();
      else setError(errorMessage(e));
    } finally {
      setBusy(null);
    }
  };

  const loadError = grants.error ? errorMessage(grants.error) : "";
  return (
    <div className="form allowed-apps">
      <Alert message={error || loadError} />
      <Alert tone="success" message={notice} />
      {grants.data === undefined ? (
        loadError ? null : (
          <p className="muted" role="status">
            Loading apps…
          </p>
        )
      ) : grants.data.length === 0 ? (
        <p className="muted">No apps have access to your account.</p>
      ) : (
        <ul className="session-list" aria-label="Apps you allowed">
          {grants.data.map((grant) => (
            <li key={grant.id} className="session">
              <div className="session-main">
                <span className="session-device">{grant.client_name}</span>
                <ul className="scope-list session-details" aria-label={`What ${grant.client_name} may do`}>
                  {grant.scopes.map((scope) => (
                    <li key={scope}>{describeScope(scope)}</li>
                  ))}
                </ul>
                <span className="session-details">
                  Allowed <Time iso={grant.created_at} />
                </span>
              </div>
              <ConfirmButton
                label="Revoke access"
                question={`Revoke access for ${grant.client_name}? It will have to ask you again, and its sign-ins with your account end.`}
                confirmLabel="Revoke"
                accessibleLabel={`Revoke access for ${grant.client_name}`}
                busy={busy === grant.id}
                onConfirm={() => void revoke(grant)}
              />
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
