import { useResource } from "@latchkey/client/react";
import { useState } from "react";
import { listMySessions, revokeMyOtherSessions, revokeMySession, revokeMyTokenLogin } from "../api/account";
import { errorMessage, isApiError } from "../api/client";
import type { Session } from "../api/account";
import { describeUserAgent } from "../lib/userAgent";
import { Alert } from "./Alert";
import { ConfirmButton } from "./ConfirmButton";
import { Time } from "./Time";

// A newer server may know other kinds; they are shown by their name.
const KIND_LABELS: Record<string, string> = {
  cookie: "Browser session",
  token: "App or API login (tokens)",
};

// A cookie session and a token login can share an id, so the kind is part of the key.
const keyOf = (session: Session) => `${session.kind}-${session.id}`;

function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** This device first, then the most recently used. */
function byRelevance(list: Session[]): Session[] {
  return [...list].sort((a, b) => Number(b.current) - Number(a.current) || b.last_seen_at.localeCompare(a.last_seen_at));
}

/** `reloadKey` changes when something else (a password change) ended sessions. */
export function SessionList({ reloadKey }: { reloadKey: number }) {
  const loaded = useResource(async (signal) => byRelevance(await listMySessions(signal)), [reloadKey]);
  const sessions = loaded.data ?? null;
  const [actionError, setError] = useState("");
  const error = actionError || (loaded.error ? errorMessage(loaded.error) : "");
  const [notice, setNotice] = useState("");
  const [busyKey, setBusyKey] = useState<string | null>(null);


  const revoke = async (session: Session) => {
    setBusyKey(keyOf(session));
    setNotice("");
    setError("");
    try {
      await (session.kind === "token" ? revokeMyTokenLogin(session.id) : revokeMySession(session.id));
      setNotice(`Signed out ${describeUserAgent(session.user_agent)}.`);
    } catch (e) {
      // Already gone (it expired, or was ended elsewhere): the list just needs refreshing.
      if (!isApiError(e, "not_found")) setError(errorMessage(e));
    } finally {
      setBusyKey(null);
      loaded.reload();
    }
  };

  const revokeOthers = async () => {
    setBusyKey("others");
    setNotice("");
    setError("");
    try {
      await revokeMyOtherSessions();
      setNotice("Every other session and app has been signed out.");
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusyKey(null);
      loaded.reload();
    }
  };

  const others = sessions?.filter((s) => !s.current) ?? [];
  const otherBrowsers = others.filter((s) => s.kind === "cookie").length;
  const apps = others.filter((s) => s.kind === "token").length;
  const othersQuestion = [
    otherBrowsers > 0 ? count(otherBrowsers, "other browser session", "other browser sessions") : null,
    apps > 0 ? count(apps, "app", "apps") : null,
  ]
    .filter(Boolean)
    .join(" and ");

  return (
    <div>
      <Alert message={error} />
      <Alert tone="success" message={notice} />
      {sessions === null ? (
        error ? null : <p className="muted" role="status">Loading sessions…</p>
      ) : (
        <ul className="session-list">
          {sessions.map((session) => {
            const device = describeUserAgent(session.user_agent);
            const where = session.ip ?? "unknown IP";
            return (
              <li key={keyOf(session)} className="session">
                <div className="session-main">
                  <span className="session-device">
                    {device}
                    {session.current ? <span className="badge">This device</span> : null}
                  </span>
                  <span className="session-details">
                    {KIND_LABELS[session.kind] ?? session.kind} · {session.ip ?? "Unknown IP"} · signed in <Time iso={session.created_at} /> · last used{" "}
                    <Time iso={session.last_seen_at} relative />
                  </span>
                </div>
                {session.current ? null : (
                  <ConfirmButton
                    label="Sign out"
                    question={session.kind === "token" ? "Sign out this app?" : "Sign out this session?"}
                    accessibleLabel={`Sign out ${session.kind === "token" ? "app " : ""}${device} from ${where}`}
                    busy={busyKey === keyOf(session)}
                    onConfirm={() => void revoke(session)}
                  />
                )}
              </li>
            );
          })}
        </ul>
      )}
      {apps > 0 ? (
        // Access tokens are checked without asking latchkey, so ending the login cannot recall one already issued.
        <p className="muted">
          A signed-out app can no longer renew its access, but the access token it already holds works until it expires (15 minutes unless the
          server is configured otherwise).
        </p>
      ) : null}
      {others.length > 0 ? (
        <ConfirmButton
          label="Sign out all other sessions and apps"
          question={`Sign out ${othersQuestion}?`}
          confirmLabel="Sign out"
          busy={busyKey === "others"}
          onConfirm={() => void revokeOthers()}
        />
      ) : sessions ? (
        <p className="muted">This is your only session.</p>
      ) : null}
    </div>
  );
}
