/**
 * Leaves the app for another site (an identity provider, or an app going back
 * with the user's answer). One function, so tests can replace it: jsdom
 * cannot navigate away.
 */
export function leaveTo(url: string): void {
  window.location.assign(url);
}
