import { useState } from "react";

/** The recovery codes, shown once: copy or download them before leaving. */
export function RecoveryCodesPanel({ codes, username, onDone }: { codes: string[]; username: string; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  const text = `Recovery codes for ${username} (latchkey). Each works once.\n\n${codes.join("\n")}\n`;
  const download = `data:text/plain;charset=utf-8,${encodeURIComponent(text)}`;

  return (
    <div className="form" aria-label="Recovery codes">
      <p>
        Save these recovery codes somewhere safe. Each one can replace a code from your authenticator app once, if
        you lose your phone. They will not be shown again.
      </p>
      <ul className="recovery-codes">
        {codes.map((code) => (
          <li key={code}>
            <code>{code}</code>
          </li>
        ))}
      </ul>
      <div className="button-row">
        <button
          type="button"
          className="button"
          onClick={() => {
            void navigator.clipboard.writeText(text).then(() => setCopied(true));
          }}
        >
          {copied ? "Copied" : "Copy codes"}
        </button>
        <a className="button" href={download} download="latchkey-recovery-codes.txt">
          Download codes
        </a>
        <button type="button" className="button button-primary" onClick={onDone}>
          I have saved them
        </button>
      </div>
    </div>
  );
}
