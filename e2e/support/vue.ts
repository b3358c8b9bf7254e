// The Vue journeys' app: examples/vue, a survey app that logs in with latchkey in token
// mode through @latchkey/client. It is built with Vite (compiling the client from
// clients/js/src, when dist/ is missing or older than either's sources) and served by
// examples/serve.mjs on 127.0.0.1, another site than latchkey's `localhost`: tokens need
// no cookie, so the app works across sites. Its origin is chosen before latchkey starts,
// which lists it in cors.allowed_origins.

import type { APIRequestContext, BrowserContext, Page, Request, Response } from "@playwright/test";
import { buildExample, serveExample } from "./examples.ts";
import { test as base, expect } from "./fixtures.ts";
import { freePort, startServers } from "./latchkey.ts";

/**
 * Where the app keeps the refresh token: the IndexedDB database named by the client's
 * `storageKey` + ":refresh_token", object store "tokens", key "refresh_token".
 */
export const REFRESH_TOKEN_KEY = "latchkey-surveys:refresh_token";

/** The record the client keeps in IndexedDB ({ refresh_token, fresh_until }), or null when there is none. */
export function storedRefreshRecord(page: Page): Promise<{ refresh_token: string; fresh_until: number } | null> {
  return page.evaluate(
    (name) =>
      new Promise<{ refresh_token: string; fresh_until: number } | null>((resolve, reject) => {
        const open = indexedDB.open(name);
        // No such database yet: not created here (that would hide the client's own creation).
        open.onupgradeneeded = () => open.transaction?.abort();
        open.onerror = () => (open.error?.name === "AbortError" ? resolve(null) : reject(open.error));
        open.onsuccess = () => {
          const db = open.result;
          if (!db.objectStoreNames.contains("tokens")) {
            db.close();
            return resolve(null);
          }
          const get = db.transaction("tokens", "readonly").objectStore("tokens").get("refresh_token");
          get.onsuccess = () => {
            db.close();
            resolve((get.result as { refresh_token: string; fresh_until: number } | undefined) ?? null);
          };
          get.onerror = () => reject(get.error);
        };
      }),
    REFRESH_TOKEN_KEY,
  );
}

/** The refresh token the client keeps, or null. */
export async function storedRefreshToken(page: Page): Promise<string | null> {
  return (await storedRefreshRecord(page))?.refresh_token ?? null;
}

interface VueFixtures {
  /** The app's port, chosen before latchkey starts so that it can be an allowed origin. */
  vuePort: number;
  /** The app's origin, `http://127.0.0.1:<vuePort>`. */
  vueApp: string;
}

export const test = base.extend<object, VueFixtures>({
  vuePort: [
    // eslint-disable-next-line no-empty-pattern -- Playwright reads a fixture's dependencies from this pattern.
    async ({}, use) => use(await freePort()),
    { scope: "worker" },
  ],
  servers: [
    async ({ vuePort, serverConfig }, use, workerInfo) => {
      const servers = await startServers(`vue-${workerInfo.workerIndex}`, {
        corsOrigins: [`http://127.0.0.1:${vuePort}`],
        extraConfig: serverConfig,
      });
      await use(servers);
      await servers.stop();
    },
    { scope: "worker" },
  ],
  vueApp: [
    async ({ servers, vuePort }, use) => {
      await buildExample("vue", { localPackages: "source" });
      const served = await serveExample("vue", { port: vuePort, config: { latchkey_url: servers.url } });
      try {
        await use(served.url);
      } finally {
        await served.stop();
      }
    },
    // A first `npm ci` and build take a while.
    { scope: "worker", timeout: 180_000 },
  ],
});

export interface Account {
  username: string;
  password: string;
}

export interface SurveyInput {
  name: string;
  questions: { text: string; choices: string[] }[];
}

/** The logged-in home page: "Welcome, <username>!". */
export function welcome(page: Page, account: Account) {
  return page.getByRole("heading", { level: 1, name: `Welcome, ${account.username}!` });
}

/** A survey as the home page lists it: an article named by its heading. */
export function listedSurvey(page: Page, name: string) {
  return page.getByRole("article", { name });
}

/** Fills the login page's form and presses "Log in" or "Register". */
export async function submitLogin(page: Page, account: Account, button: "Log in" | "Register"): Promise<void> {
  await page.getByLabel("Username").fill(account.username);
  await page.getByLabel("Password").fill(account.password);
  await page.getByRole("button", { name: button, exact: true }).click();
}

/** Fills the "Create a survey" form (the page must be open) without sending it. */
export async function fillSurvey(page: Page, survey: SurveyInput): Promise<void> {
  await page.getByLabel("Survey name").fill(survey.name);
  for (const [index, question] of survey.questions.entries()) {
    if (index > 0) await page.getByRole("button", { name: "Add a question" }).click();
    const group = page.getByRole("group", { name: `Question ${index + 1}` });
    await group.getByLabel("Question text").fill(question.text);
    await group.getByLabel("Choices, one per line").fill(question.choices.join("\n"));
  }
}

/** A survey with one question, named after the tab and round it is sent from. */
export function oneQuestionSurvey(name: string): SurveyInput {
  return { name, questions: [{ text: "Which editor do you use?", choices: ["Vim", "Emacs", "Something else"] }] };
}

export async function expectSurveyListed(page: Page, vueApp: string, survey: SurveyInput): Promise<void> {
  await expect(page).toHaveURL(`${vueApp}/`);
  const article = listedSurvey(page, survey.name);
  await expect(article).toBeVisible();
  for (const question of survey.questions) {
    await expect(article.getByText(question.text)).toBeVisible();
    for (const choice of question.choices) await expect(article.getByText(choice, { exact: true })).toBeVisible();
  }
}

/** latchkey's answer to the next `POST <path>` the page sends it. */
export function nextPostAnswer(page: Page, latchkeyUrl: string, path: string): Promise<Response> {
  return page.waitForResponse((r) => r.url() === latchkeyUrl + path && r.request().method() === "POST");
}

/**
 * Every `POST /api/token/refresh` that any page of `context` sends to latchkey from now
 * on (the CORS preflight, an OPTIONS, is not counted).
 */
export function recordRefreshes(context: BrowserContext, latchkeyUrl: string): Request[] {
  const refreshes: Request[] = [];
  context.on("request", (request) => {
    if (request.method() === "POST" && request.url() === `${latchkeyUrl}/api/token/refresh`) refreshes.push(request);
  });
  return refreshes;
}

export async function createAccount(request: APIRequestContext, latchkeyUrl: string, account: Account): Promise<number> {
  const response = await request.post(`${latchkeyUrl}/api/signup`, {
    data: { username: account.username, password: account.password },
  });
  expect(response.status(), await response.text()).toBe(201);
  return ((await response.json()) as { id: number }).id;
}

/** latchkey's own count: the `token_refreshed` events its audit log holds for `userId` (read with an admin's token). */
export async function refreshesAudited(request: APIRequestContext, latchkeyUrl: string, admin: Account, userId: number): Promise<number> {
  const login = await request.post(`${latchkeyUrl}/api/token`, { data: admin });
  expect(login.status(), await login.text()).toBe(200);
  const { access_token } = (await login.json()) as { access_token: string };
  let count = 0;
  let before: number | null = null;
  do {
    const url: string = `${latchkeyUrl}/api/audit?limit=200${before === null ? "" : `&before=${before}`}`;
    const page = await request.get(url, { headers: { Authorization: `Bearer ${access_token}` } });
    expect(page.status(), await page.text()).toBe(200);
    const body = (await page.json()) as { events: { kind: string; user_id: number | null }[]; next: number | null };
    count += body.events.filter((event) => event.kind === "token_refreshed" && event.user_id === userId).length;
    before = body.next;
  } while (before !== null);
  return count;
}
