import { createRouter, createWebHistory, type RouteLocationRaw } from "vue-router";
import HomePage from "./pages/HomePage.vue";
import LoginPage from "./pages/LoginPage.vue";
import NewSurveyPage from "./pages/NewSurveyPage.vue";
import { useSessionStore } from "./stores/session";

declare module "vue-router" {
  interface RouteMeta {
    /** Logged-out visitors are sent to /login?next=<this page>. */
    requiresAuth?: boolean;
    /** Logged-in visitors are sent on to `next` (or home). */
    guestOnly?: boolean;
  }
}

export function createAppRouter() {
  const router = createRouter({
    history: createWebHistory(),
    routes: [
      { path: "/", name: "home", component: HomePage },
      { path: "/surveys/new", name: "new-survey", component: NewSurveyPage, meta: { requiresAuth: true } },
      { path: "/login", name: "login", component: LoginPage, meta: { guestOnly: true } },
      { path: "/:rest(.*)*", redirect: "/" },
    ],
  });

  router.beforeEach(async (to): Promise<true | RouteLocationRaw> => {
    const session = useSessionStore();
    await session.restore();
    if (to.meta.requiresAuth && !session.user) return loginFor(to.fullPath);
    if (to.meta.guestOnly && session.user) return safeNext(to.query.next);
    return true;
  });

  return router;
}

export function loginFor(path: string): RouteLocationRaw {
  return { name: "login", query: { next: path } };
}

/** A `next` from the query, followed only to a path of this site (`/x`, not `//evil.example` or `/\evil`). */
export function safeNext(next: unknown): string {
  return typeof next === "string" && /^\/(?![/\\])/.test(next) ? next : "/";
}
