import { useResource } from "@latchkey/client/react";
import { useCallback, useState } from "react";
import { errorMessage } from "../api/client";

export interface KeysetPage<T> {
  items: T[];
  next?: number | null | undefined;
}

/** Where the browsing stands and how to move: what a pager needs. */
export interface KeysetPaging {
  pageNumber: number;
  hasPrevious: boolean;
  hasNext: boolean;
  loading: boolean;
  goPrevious: () => void;
  goNext: () => void;
}

/**
 * Page-by-page browsing over a keyset-paginated list. The server only hands
 * out the cursor for the following page, so the cursors of the pages already
 * seen are kept to be able to go back.
 */
export function useKeysetPages<T>(fetchPage: (cursor: number | null, signal: AbortSignal) => Promise<KeysetPage<T>>) {
  const [cursors, setCursors] = useState<Array<number | null>>([null]);
  const cursor = cursors[cursors.length - 1] ?? null;
  const page = useResource((signal) => fetchPage(cursor, signal), [fetchPage, cursor]);

  const next = page.data?.next ?? null;
  const goNext = useCallback(() => {
    if (next !== null) setCursors((stack) => [...stack, next]);
  }, [next]);
  const goPrevious = useCallback(() => setCursors((stack) => (stack.length > 1 ? stack.slice(0, -1) : stack)), []);
  const { update: updatePage } = page;
  const update = useCallback(
    (change: (items: T[]) => T[]) => updatePage((current) => ({ ...current, items: change(current.items) })),
    [updatePage],
  );

  return {
    items: page.data?.items ?? null,
    error: page.error ? errorMessage(page.error) : "",
    loading: page.loading,
    pageNumber: cursors.length,
    hasPrevious: cursors.length > 1,
    hasNext: next !== null,
    goNext,
    goPrevious,
    update,
  };
}
