interface PagerProps {
  label: string;
  pageNumber: number;
  hasPrevious: boolean;
  hasNext: boolean;
  loading: boolean;
  previousLabel?: string;
  nextLabel?: string;
  onPrevious: () => void;
  onNext: () => void;
}

export function Pager({ label, pageNumber, hasPrevious, hasNext, loading, previousLabel = "Previous", nextLabel = "Next", onPrevious, onNext }: PagerProps) {
  if (!hasPrevious && !hasNext) return null;
  return (
    <nav className="pager" aria-label={label}>
      <button type="button" className="button" onClick={onPrevious} disabled={!hasPrevious || loading}>
        ← {previousLabel}
      </button>
      <span className="pager-page">Page {pageNumber}</span>
      <button type="button" className="button" onClick={onNext} disabled={!hasNext || loading}>
        {nextLabel} →
      </button>
    </nav>
  );
}
