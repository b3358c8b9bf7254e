import { useEffect, useRef, useState } from "react";
import { Alert } from "./Alert";

export interface ShownCredentials {
  /** What happened, as the panel's heading: "Added Example", "New secret for Example". */
  title: string;
  clientId: string;
  /** Absent for a public client, which has none. */
  secret?: string | undefined;
}

/**
 * An app's credentials right after they were made. The server keeps only a
 * hash of the secret, so this is the one time anybody sees it. Give each
 * new secret its own `key`.
 */
export function ClientCredentials({ shown, onDone }: { shown: ShownCredentials; onDone: () => void }) {
  const { title, clientId, secret } = shown;
  const headingRef = useRef<HTMLHeadingElement>(null);
  const [copied, setCopied] = useState<"id" | "secret" | null>(null);
  // The clipboard API exists only in secure contexts (https, localhost).
  const canCopy = typeof navigator.clipboard?.writeText === "function";

  // The panel appears above what was just clicked; focus takes screen-reader and keyboard users to it.
  useEffect(() => headingRef.current?.focus(), []);

  const copy = (what: "id" | "secret", text: string) => {
    void navigator.clipboard.writeText(text).then(() => setCopied(what));
  };

  return (
    <section className="card form credentials" aria-labelledby="credentials-heading">
      <h2 id="credentials-heading" ref={headingRef} tabIndex={-1}>
        {title}
      </h2>
      <dl className="facts">
        <dt>Client ID</dt>
        <dd>
          <code>{clientId}</code>
        </dd>
        {secret ? (
          <>
            <dt>Client secret</dt>
            <dd>
              <code>{secret}</code>
            </dd>
          </>
        ) : null}
      </dl>
      {secret ? (
        <Alert tone="info" message="Copy it now: it will not be shown again." />
      ) : (
        <p className="muted">A public client has no secret: it proves itself with PKCE.</p>
      )}
      <div className="button-row">
        {canCopy ? (
          <>
            <button type="button" className="button" onClick={() => copy("id", clientId)}>
              {copied === "id" ? "Copied" : "Copy client ID"}
            </button>
            {secret ? (
              <button type="button" className="button" onClick={() => copy("secret", secret)}>
                {copied === "secret" ? "Copied" : "Copy secret"}
              </button>
            ) : null}
          </>
        ) : null}
        <button type="button" className="button button-primary" onClick={onDone}>
          Done
        </button>
      </div>
    </section>
  );
}
