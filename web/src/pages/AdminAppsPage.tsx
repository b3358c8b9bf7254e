import { useResource } from "@latchkey/client/react";
import { useState } from "react";
import { errorMessage } from "../api/client";
import { listClients } from "../api/oauth2";
import type { NewOAuthClient, OAuthClient } from "../api/oauth2";
import { AdminNav } from "../components/AdminNav";
import { Alert } from "../components/Alert";
import { ClientCredentials, type ShownCredentials } from "../components/ClientCredentials";
import { ClientRow } from "../components/ClientRow";
import { NewClientForm } from "../components/NewClientForm";
import { Page } from "../components/Page";

/** The apps that log their users in with latchkey (OAuth 2.0 / OpenID Connect clients). */
export function AdminAppsPage() {
  const clients = useResource(listClients, []);
  const [shown, setShown] = useState<ShownCredentials | null>(null);
  const [notice, setNotice] = useState("");

  const onCreated = ({ client_secret, ...client }: NewOAuthClient) => {
    clients.update((list) => [...list, client]);
    setNotice("");
    setShown({ title: `Added ${client.name}`, clientId: client.client_id, secret: client_secret ?? undefined });
  };

  const onNewSecret = (client: OAuthClient, secret: string) => {
    setNotice("");
    setShown({ title: `New secret for ${client.name}`, clientId: client.client_id, secret });
  };

  const onDeleted = (deleted: OAuthClient) => {
    clients.update((list) => list.filter((c) => c.client_id !== deleted.client_id));
    setShown((current) => (current?.clientId === deleted.client_id ? null : current));
    setNotice(`Deleted ${deleted.name}.`);
  };

  const loadError = clients.error ? errorMessage(clients.error) : "";
  return (
    <Page title="Apps" heading="Administration">
      <AdminNav />
      <Alert message={loadError} />
      <Alert tone="success" message={notice} />
      {shown ? <ClientCredentials key={`${shown.clientId} ${shown.secret ?? ""}`} shown={shown} onDone={() => setShown(null)} /> : null}
      {clients.data === undefined ? (
        loadError ? null : (
          <p className="muted" role="status">
            Loading apps…
          </p>
        )
      ) : clients.data.length === 0 ? (
        <p className="empty">No apps yet. Add the first one below.</p>
      ) : (
        <div className="table-wrap">
          <table className="data-table">
            <caption className="visually-hidden">Apps that log in with latchkey</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Client ID</th>
                <th scope="col">Type</th>
                <th scope="col">Redirect URIs</th>
                <th scope="col">Consent</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {clients.data.map((client) => (
                <ClientRow key={client.client_id} client={client} onDeleted={onDeleted} onNewSecret={onNewSecret} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      <section className="card" aria-labelledby="new-client-heading">
        <h2 id="new-client-heading">Add an app</h2>
        <NewClientForm onCreated={onCreated} />
      </section>
    </Page>
  );
}
