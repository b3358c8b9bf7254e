import { useState } from "react";
import { errorMessage, isApiError } from "../api/client";
import { deleteClient, rotateClientSecret } from "../api/oauth2";
import type { OAuthClient } from "../api/oauth2";
import { ConfirmButton } from "./ConfirmButton";

interface ClientRowProps {
  client: OAuthClient;
  onDeleted: (client: OAuthClient) => void;
  onNewSecret: (client: OAuthClient, secret: string) => void;
}

const COLUMNS = 6;

export function ClientRow({ client, onDeleted, onNewSecret }: ClientRowProps) {
  const [busy, setBusy] = useState<"secret" | "delete" | null>(null);
  const [error, setError] = useState("");

  const run = async (kind: "secret" | "delete", action: () => Promise<void>) => {
    setBusy(kind);
    setError("");
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
        <td data-label="Name">
          <strong>{client.name}</strong>
        </td>
        <td data-label="Client ID" className="uris">
          <code>{client.client_id}</code>
        </td>
        <td data-label="Type">{client.public ? "Public" : "Confidential"}</td>
        <td data-label="Redirect URIs" className="uris">
          <ul className="plain-list">
            {client.redirect_uris.map((uri) => (
              <li key={uri}>{uri}</li>
            ))}
          </ul>
        </td>
        <td data-label="Consent">{client.skip_consent ? "Skipped" : "Asked"}</td>
        <td data-label="Actions" className="actions">
          {client.public ? null : (
            <ConfirmButton
              label="New secret"
              question={`Replace the secret of ${client.name}? The current one stops working at once.`}
              confirmLabel="Replace secret"
              accessibleLabel={`New secret for ${client.name}`}
              busy={busy === "secret"}
              onConfirm={() =>
                void run("secret", async () => {
                  const { client_secret } = await rotateClientSecret(client.client_id);
                  onNewSecret(client, client_secret ?? "");
                })
              }
            />
          )}
          <ConfirmButton
            label="Delete"
            question={`Delete ${client.name}? Its users are logged out of it and it can no longer log anyone in.`}
            accessibleLabel={`Delete ${client.name}`}
            busy={busy === "delete"}
            onConfirm={() =>
              void run("delete", async () => {
                try {
                  await deleteClient(client.client_id);
                } catch (e) {
                  // Deleted meanwhile, elsewhere: what was asked for holds.
                  if (!isApiError(e, "not_found")) throw e;
                }
                onDeleted(client);
              })
            }
          />
        </td>
      </tr>
      {error ? (
        <tr className="row-detail">
          <td colSpan={COLUMNS}>
            <p role="alert" className="alert alert-error">
              {error}
            </p>
          </td>
        </tr>
      ) : null}
    </>
  );
}
