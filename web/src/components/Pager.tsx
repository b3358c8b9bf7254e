import type { KeysetPaging } from "./useKeysetPages";

interface PagerProps {
  label: string;
  pages: KeysetPaging;
  previousLabel?: string;
  nextLabel?: string;
}

export function Pager({ label, pages, previousLabel = "Previous", nextLabel = "Next" }: PagerProps) {
  const { pageNumber, hasPrevious, hasNext, loading, goPrevious, goNext } = pages;
  if (!hasPrevious && !hasNext) return null;
  return (
    <nav className="pager" aria-label={label}>
      <button type="button" className="button" onClick={goPrevious} disabled={!hasPrevious || loading}>
        ← {previousLabel}
      </button>
      <span className="pager-page">Page {pageNumber}</span>
      <button type="button" className="button" onClick={goNext} disabled={!hasNext || loading}>
        {nextLabel} →
      </button>
    </nav>
  );
}
