import type { ReactNode } from "react";
import { usePageTitle } from "./usePageTitle";

interface PageProps {
  /** The document title; also the heading unless `heading` says otherwise. */
  title: string;
  heading?: ReactNode;
  intro?: ReactNode;
  narrow?: boolean;
  children: ReactNode;
}

/**
 * Every page's frame. The heading takes tabIndex -1 so the layout can move
 * focus to it after a client-side navigation, which is how screen-reader
 * users learn that the page changed.
 */
export function Page({ title, heading, intro, narrow = false, children }: PageProps) {
  usePageTitle(title);
  return (
    <div className={narrow ? "page page-narrow" : "page"}>
      <header className="page-header">
        <h1 tabIndex={-1}>{heading ?? title}</h1>
        {intro ? <p className="page-intro">{intro}</p> : null}
      </header>
      {children}
    </div>
  );
}
