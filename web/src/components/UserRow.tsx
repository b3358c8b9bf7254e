import { useState } from "react";
import { deleteUser, revokeUserSessions } from "../api/admin";
import { errorMessage } from "../api/client";
import type { User } from "@latchkey/client";
import { ConfirmButton } from "./ConfirmButton";
import { RolesEditor } from "./RolesEditor";
import { Time } from "./Time";
import { UserIdentities } from "./UserIdentities";

interface UserRowProps {
  user: User;
  isMe: boolean;
  onChanged: (user: User) => void;
  onDeleted: (user: User) => void;
  /** The server offers identity providers: show the user's connected accounts on demand. */
  withIdentities?: boolean;
}

const COLUMNS = 6;

export function UserRow({ user, isMe, onChanged, onDeleted, withIdentities = false }: UserRowProps) {
  const [editing, setEditing] = useState(false);
  const [showingIdentities, setShowingIdentities] = useState(false);
  const [busy, setBusy] = useState<"sessions" | "delete" | null>(null);
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");

  const run = async (kind: "sessions" | "delete", action: () => Promise<void>) => {
    setBusy(kind);
    setError("");
    setNotice("");
    try {
      await action();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(null);
    }
  };

  return (
    <>
      <tr>
        <td data-label="ID">{user.id}</td>
        <td data-label="Username" className="nowrap">
          <span>
            <strong>{user.username}</strong>
            {isMe ? <span className="badge">You</span> : null}
          </span>
        </td>
        <td data-label="Email" className="email">{user.email ?? <span className="muted">—</span>}</td>
        <td data-label="Roles">
          <span>
            {user.roles.map((role) => (
              <span key={role} className={role === "admin" ? "role role-admin" : "role"}>
                {role}
              </span>
            ))}
          </span>
        </td>
        <td data-label="Created">
          <Time iso={user.created_at} />
        </td>
        <td data-label="Actions" className={withIdentities ? "actions actions-wrap" : "actions"}>
          <button
            type="button"
            className="button button-small"
            aria-expanded={editing}
            aria-label={`Edit roles of ${user.username}`}
            onClick={() => setEditing((open) => !open)}
          >
            Edit roles
          </button>
          {withIdentities ? (
            <button
              type="button"
              className="button button-small"
              aria-expanded={showingIdentities}
              aria-label={`Connected accounts of ${user.username}`}
              onClick={() => setShowingIdentities((open) => !open)}
            >
              Accounts
            </button>
          ) : null}
          {isMe ? null : (
            <>
              <ConfirmButton
                label="Sign out"
                question={`End every session of ${user.username}?`}
                accessibleLabel={`Sign out ${user.username} everywhere`}
                busy={busy === "sessions"}
                onConfirm={() =>
                  void run("sessions", async () => {
                    await revokeUserSessions(user.id);
                    setNotice(`${user.username} has been signed out everywhere.`);
                  })
                }
              />
              <ConfirmButton
                label="Delete"
                question={`Delete ${user.username} for good?`}
                accessibleLabel={`Delete ${user.username}`}
                busy={busy === "delete"}
                onConfirm={() =>
                  void run("delete", async () => {
                    await deleteUser(user.id);
                    onDeleted(user);
                  })
                }
              />
            </>
          )}
        </td>
      </tr>
      {editing || showingIdentities || error || notice ? (
        <tr className="row-detail">
          <td colSpan={COLUMNS}>
            {error ? (
              <p role="alert" className="alert alert-error">
                {error}
              </p>
            ) : null}
            {notice ? (
              <p role="status" className="alert alert-success">
                {notice}
              </p>
            ) : null}
            {editing ? (
              <RolesEditor
                user={user}
                onCancel={() => setEditing(false)}
                onSaved={(updated) => {
                  setEditing(false);
                  setNotice(`Roles of ${updated.username} saved.`);
                  onChanged(updated);
                }}
              />
            ) : null}
            {showingIdentities ? <UserIdentities user={user} /> : null}
          </td>
        </tr>
      ) : null}
    </>
  );
}
