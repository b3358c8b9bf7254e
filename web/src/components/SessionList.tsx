import { useEffect, useState } from "react";
import { listMySessions, revokeMyOtherSessions, revokeMySession } from "../api/account";
import { errorMessage, isApiError } from "../api/client";
import type { Session } from "../api/types";
import { describeUserAgent } from "../lib/userAgent";
import { Alert } from "./Alert";
import { ConfirmButton } from "./ConfirmButton";
import { Time } from "./Time";

/** `reloadKey` changes when something else (a password change) ended sessions. */
export function SessionList({ reloadKey }: { reloadKey: number }) {
  const [sessions, setSessions] = useState<Session[] | null>(null);
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");
  const [busyId, setBusyId] = useState<Session["id"] | "others" | null>(null);

  const [refreshes, setRefreshes] = useState(0);

  useEffect(() => {
    let live = true;
    listMySessions().then(
      (list) => {
        if (!live) return;
        // This device first, then the most recently used.
        list.sort((a, b) => Number(b.current) - Number(a.current) || b.last_seen_at.localeCompare(a.last_seen_at));
        setSessions(list);
      },
      (e: unknown) => {
        if (live) setError(errorMessage(e));
      },
    );
    return () => {
      live = false;
    };
  }, [reloadKey, refreshes]);

  const revoke = async (session: Session) => {
    setBusyId(session.id);
    setNotice("");
    setError("");
    try {
      await revokeMySession(session.id);
      setNotice(`Signed out ${describeUserAgent(session.user_agent)}.`);
    } catch (e) {
      // Already gone (it expired, or was ended elsewhere): the list just needs refreshing.
      if (!isApiError(e, "not_found")) setError(errorMessage(e));
    } finally {
      setBusyId(null);
      setRefreshes((n) => n + 1);
    }
  };

  const revokeOthers = async () => {
    setBusyId("others");
    setNotice("");
    setError("");
    try {
      await revokeMyOtherSessions();
      setNotice("Every other session has been signed out.");
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusyId(null);
      setRefreshes((n) => n + 1);
    }
  };

  const others = sessions?.filter((s) => !s.current).length ?? 0;

  return (
    <div>
      <Alert message={error} />
      <Alert tone="success" message={notice} />
      {sessions === null ? (
        error ? null : <p className="muted" role="status">Loading sessions…</p>
      ) : (
        <ul className="session-list">
          {sessions.map((session) => (
            <li key={session.id} className="session">
              <div className="session-main">
                <span className="session-device">
                  {describeUserAgent(session.user_agent)}
                  {session.current ? <span className="badge">This device</span> : null}
                </span>
                <span className="session-details">
                  {session.ip ?? "Unknown IP"} · signed in <Time iso={session.created_at} /> · last used{" "}
                  <Time iso={session.last_seen_at} relative />
                </span>
              </div>
              {session.current ? null : (
                <ConfirmButton
                  label="Sign out"
                  question="Sign out this session?"
                  accessibleLabel={`Sign out ${describeUserAgent(session.user_agent)} from ${session.ip ?? "unknown IP"}`}
                  busy={busyId === session.id}
                  onConfirm={() => void revoke(session)}
                />
              )}
            </li>
          ))}
        </ul>
      )}
      {others > 0 ? (
        <ConfirmButton
          label="Sign out all other sessions"
          question={`Sign out ${others === 1 ? "the other session" : `all ${others} other sessions`}?`}
          confirmLabel="Sign out"
          busy={busyId === "others"}
          onConfirm={() => void revokeOthers()}
        />
      ) : sessions ? (
        <p className="muted">This is your only session.</p>
      ) : null}
    </div>
  );
}
