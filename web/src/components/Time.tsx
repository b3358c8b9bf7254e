import { formatDateTime, formatRelative } from "../lib/time";

/** A timestamp shown relative ("5 minutes ago") or absolute, with the exact moment on hover. */
export function Time({ iso, relative = false }: { iso: string; relative?: boolean }) {
  const exact = formatDateTime(iso);
  return (
    <time dateTime={iso} title={exact}>
      {relative ? formatRelative(iso) : exact}
    </time>
  );
}
