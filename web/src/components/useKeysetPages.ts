import { useCallback, useEffect, useState } from "react";
import { errorMessage } from "../api/client";

export interface KeysetPage<T> {
  items: T[];
  next: number | null;
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
export function useKeysetPages<T>(fetchPage: (cursor: number | null) => Promise<KeysetPage<T>>) {
  const [cursors, setCursors] = useState<Array<number | null>>([null]);
  const [page, setPage] = useState<KeysetPage<T> | null>(null);
  const [error, setError] = useState("");
  const [loading, setLoading] = useState(true);
  const cursor = cursors[cursors.length - 1] ?? null;

  useEffect(() => {
    let live = true;
    fetchPage(cursor).then(
      (result) => {
        if (!live) return;
        setPage(result);
        setError("");
        setLoading(false);
      },
      (e: unknown) => {
        if (!live) return;
        setError(errorMessage(e));
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [fetchPage, cursor]);

  const next = page?.next ?? null;
  const goNext = useCallback(() => {
    if (next === null) return;
    setLoading(true);
    setCursors((stack) => [...stack, next]);
  }, [next]);
  const goPrevious = useCallback(() => {
    setLoading(true);
    setCursors((stack) => (stack.length > 1 ? stack.slice(0, -1) : stack));
  }, []);
  const update = useCallback(
    (change: (items: T[]) => T[]) => setPage((current) => (current ? { ...current, items: change(current.items) } : current)),
    [],
  );

  return {
    items: page?.items ?? null,
    error,
    loading,
    pageNumber: cursors.length,
    hasPrevious: cursors.length > 1,
    hasNext: next !== null,
    goNext,
    goPrevious,
    update,
  };
}
