import { useCallback, useEffect, useRef, useState } from "react";
import { getUser, listAudit } from "../api/admin";
import { isApiError } from "../api/client";
import type { AuditEvent, UserId } from "../api/admin";
import { AdminNav } from "../components/AdminNav";
import { Alert } from "../components/Alert";
import { Page } from "../components/Page";
import { Pager } from "../components/Pager";
import { Time } from "../components/Time";
import { useKeysetPages } from "../components/useKeysetPages";
import { describeDetail, describeKind } from "../lib/audit";
import { describeUserAgent } from "../lib/userAgent";

const PAGE_SIZE = 50;

export function AdminAuditPage() {
  const fetchPage = useCallback(async (before: number | null, signal: AbortSignal) => {
    const page = await listAudit({ limit: PAGE_SIZE, before }, signal);
    return { items: page.events, next: page.next };
  }, []);
  const pages = useKeysetPages<AuditEvent>(fetchPage);
  const names = useUsernames(pages.items);

  return (
    <Page title="Audit log" heading="Administration">
      <AdminNav />
      <Alert message={pages.error} />
      {pages.items === null ? (
        pages.error ? null : <p className="muted" role="status">Loading events…</p>
      ) : pages.items.length === 0 ? (
        <p className="empty">Nothing has been recorded yet.</p>
      ) : (
        <div className="table-wrap">
          <table className="data-table audit-table">
            <caption className="visually-hidden">Audit events, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Event</th>
                <th scope="col">Account</th>
                <th scope="col">By</th>
                <th scope="col">From</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody aria-busy={pages.loading}>
              {pages.items.map((event) => {
                const kind = describeKind(event.kind);
                return (
                  <tr key={event.id}>
                    <td data-label="When">
                      <Time iso={event.at} />
                    </td>
                    <td data-label="Event" className="nowrap">
                      <span className={kind.warn ? "event event-warn" : "event"}>{kind.label}</span>
                    </td>
                    <td data-label="Account" className="nowrap">{nameOf(names, event.user_id ?? null)}</td>
                    <td data-label="By" className="nowrap">{event.actor_id == null ? <span className="muted">—</span> : nameOf(names, event.actor_id)}</td>
                    <td data-label="From">
                      <span>
                        {event.ip ?? <span className="muted">—</span>}
                        {event.user_agent ? <span className="cell-sub">{describeUserAgent(event.user_agent)}</span> : null}
                      </span>
                    </td>
                    <td data-label="Detail" className="detail">
                      {describeDetail(event.detail)}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <Pager label="Audit log pages" pages={pages} previousLabel="Newer" nextLabel="Older" />
    </Page>
  );
}

function nameOf(names: Map<UserId, string | null>, id: UserId | null) {
  if (id === null) return <span className="muted">—</span>;
  const name = names.get(id);
  if (name === undefined) return `#${id}`;
  if (name === null) return <span className="muted">#{id} (deleted)</span>;
  return name;
}

/**
 * Events name accounts by id only; this looks each id up once so the log reads
 * as names. Accounts deleted since (events outlive them) map to null.
 */
function useUsernames(events: AuditEvent[] | null): Map<UserId, string | null> {
  const [names, setNames] = useState<Map<UserId, string | null>>(() => new Map());
  const requested = useRef(new Set<UserId>());

  useEffect(() => {
    const ids = new Set<UserId>();
    for (const event of events ?? []) {
      for (const id of [event.user_id, event.actor_id]) {
        if (id != null && !requested.current.has(id)) ids.add(id);
      }
    }
    ids.forEach((id) => requested.current.add(id));
    for (const id of ids) {
      getUser(id).then(
        (user) => setNames((current) => new Map(current).set(id, user.username)),
        (error: unknown) => {
          if (isApiError(error, "not_found")) setNames((current) => new Map(current).set(id, null));
          // Otherwise the id stays on screen: the log is still readable without the name.
          else requested.current.delete(id);
        },
      );
    }
  }, [events]);

  return names;
}
