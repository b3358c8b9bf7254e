/**
 * The `next` target after login, or null when it could lead off this site.
 * Only a path starting with exactly one `/` is kept: `//evil.example` and
 * `/\evil.example` are read by browsers as another host, and a scheme
 * (`https:`, `javascript:`) never starts with `/`. Control characters and
 * whitespace are refused because URL parsers strip some of them, which can
 * turn `/\t/evil.example` into `//evil.example`.
 */
export function safeNext(next: string | null | undefined): string | null {
  if (!next || next[0] !== "/") return null;
  if (next[1] === "/" || next[1] === "\\") return null;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is being refused
  if (/[\u0000-\u0020\u007f]/.test(next)) return null;
  return next;
}

/** `/login?next=…` for the page the visitor wanted; plain `/login` for the home page. */
export function loginPathFor(target: string): string {
  return target === "/" ? "/login" : `/login?next=${encodeURIComponent(target)}`;
}

/**
 * Where to go after a sign-in through a provider: the first candidate that is
 * a same-site path (the server's answer, then the URL's `return_to`), else home.
 * The server checks `return_to` too, but this page must not trust a URL anyone
 * can craft and send.
 */
export function safeReturnTo(...candidates: (string | null | undefined)[]): string {
  for (const candidate of candidates) {
    const safe = safeNext(candidate);
    if (safe !== null) return safe;
  }
  return "/";
}

/** The login page for an app's sign-in request (`/oauth2/authorize` sends the browser there too). */
export function oauthLoginPathFor(request: string): string {
  return `/login?oauth=${encodeURIComponent(request)}`;
}

/** Where every way of logging in ends when it began with an app's sign-in request. */
export function consentPathFor(request: string): string {
  return `/consent?oauth=${encodeURIComponent(request)}`;
}
