/** Shown instead of a passkey button on a host the passkeys are not bound to (an IP address, say). */
export function PasskeyElsewhere({ host, url }: { host: string; url: string }) {
  return (
    <p className="aside">
      Passkeys cannot be used at this address. <a href={url}>Open this page at {host}</a> to use one.
    </p>
  );
}
