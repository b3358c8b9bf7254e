import type { Identity } from "../api/federation";
import { Time } from "./Time";

/** One connected provider account: whose, with which address, since when, last used. */
export function IdentitySummary({ identity, showVerified = false }: { identity: Identity; showVerified?: boolean }) {
  return (
    <div className="session-main">
      <span className="session-device">
        {identity.label}
        {identity.email ? (
          <span className="muted identity-email">
            {identity.email}
            {showVerified && identity.email_verified ? " (verified by the provider)" : ""}
          </span>
        ) : null}
      </span>
      <span className="session-details">
        connected <Time iso={identity.created_at} /> ·{" "}
        {identity.last_used_at ? (
          <>
            last used <Time iso={identity.last_used_at} relative />
          </>
        ) : (
          "never used to log in"
        )}
      </span>
    </div>
  );
}
