/**
 * Leaves the app for another site (an identity provider). One function, so
 * tests can replace it: jsdom cannot navigate away.
 */
export function leaveTo(url: string): void {
  window.location.assign(url);
}
