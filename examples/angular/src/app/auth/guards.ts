import { inject } from "@angular/core";
import { type CanActivateFn, Router } from "@angular/router";
import { Session } from "./session";

/** Restricted routes: a logged-out visitor goes to /login, which brings them back here afterwards. */
export const requireLogin: CanActivateFn = async (_route, state) => {
  const session = inject(Session);
  const router = inject(Router);
  await session.whenKnown();
  if (session.user()) return true;
  return router.createUrlTree(["/login"], { queryParams: { next: state.url } });
};

/** /login and /register: a logged-in visitor has nothing to do there. */
export const guestOnly: CanActivateFn = async () => {
  const session = inject(Session);
  const router = inject(Router);
  await session.whenKnown();
  return session.user() ? router.createUrlTree(["/"]) : true;
};

/**
 * Where to go after logging in: `next` only when it is a path of this app. A value
 * like `//evil.example` or `/\evil.example` would leave the site, so it is dropped.
 */
export function safeNext(next: string | null | undefined): string {
  return next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\") ? next : "/";
}
