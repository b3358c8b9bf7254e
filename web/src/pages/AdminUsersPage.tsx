import { useCallback } from "react";
import { listUsers } from "../api/admin";
import type { User } from "@latchkey/client";
import { useAuth } from "../auth/AuthContext";
import { AdminNav } from "../components/AdminNav";
import { Alert } from "../components/Alert";
import { Page } from "../components/Page";
import { Pager } from "../components/Pager";
import { useFeatures } from "../components/useFeatures";
import { useKeysetPages } from "../components/useKeysetPages";
import { UserRow } from "../components/UserRow";

const PAGE_SIZE = 50;

export function AdminUsersPage() {
  const { user: me, updateUser } = useAuth();
  const fetchPage = useCallback(async (after: number | null, signal: AbortSignal) => {
    const page = await listUsers({ limit: PAGE_SIZE, after }, signal);
    return { items: page.users, next: page.next };
  }, []);
  const pages = useKeysetPages<User>(fetchPage);
  const withIdentities = (useFeatures()?.providers?.length ?? 0) > 0;

  const onChanged = (changed: User) => {
    pages.update((users) => users.map((u) => (u.id === changed.id ? changed : u)));
    // Taking away one's own admin role takes effect at once: the guard then shows "not allowed".
    if (changed.id === me?.id) updateUser(changed);
  };

  return (
    <Page title="Users" heading="Administration">
      <AdminNav />
      <Alert message={pages.error} />
      {pages.items === null ? (
        pages.error ? null : <p className="muted" role="status">Loading users…</p>
      ) : (
        <div className="table-wrap">
          <table className="data-table">
            <caption className="visually-hidden">Users, by id</caption>
            <thead>
              <tr>
                <th scope="col">ID</th>
                <th scope="col">Username</th>
                <th scope="col">Email</th>
                <th scope="col">Roles</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody aria-busy={pages.loading}>
              {pages.items.map((user) => (
                <UserRow
                  key={user.id}
                  user={user}
                  isMe={user.id === me?.id}
                  withIdentities={withIdentities}
                  onChanged={onChanged}
                  onDeleted={(deleted) => pages.update((users) => users.filter((u) => u.id !== deleted.id))}
                />
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager label="Users pages" pages={pages} />
    </Page>
  );
}
