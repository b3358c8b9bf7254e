// Five tabs of examples/vue share one token-mode login (the refresh token in IndexedDB).
// When their access tokens run out together and every tab sends a request at the same
// instant, @latchkey/client refreshes ONCE for all of them (a Web Lock, then the new
// tokens handed to the others on a BroadcastChannel): one POST /api/token/refresh reaches
// latchkey, no tab is logged out, every request succeeds. latchkey's reuse grace is off
// here, so a second refresh with the same token would be taken as theft and end the login.

import type { Page } from "@playwright/test";
import { expect, skipWithoutChromium, uniqueName } from "../support/fixtures.ts";
import {
  createAccount,
  expectSurveyListed,
  fillSurvey,
  oneQuestionSurvey,
  recordRefreshes,
  refreshesAudited,
  storedRefreshToken,
  submitLogin,
  test,
  welcome,
} from "../support/vue.ts";

skipWithoutChromium();

const TABS = 5;
const ROUNDS = 3;
// The client renews an access token a quarter of its life before it expires (at most
// 30 s before): with 4 s tokens, 3 s after a refresh every tab needs a new one.
const ACCESS_TTL_MS = 4_000;
const RENEW_AFTER_MS = ACCESS_TTL_MS * 0.75;

test.use({ serverConfig: `[tokens]\naccess_ttl = "${ACCESS_TTL_MS / 1000}s"\nrefresh_reuse_grace = "0s"` });

/** Clicks "Create survey" in every tab at one instant (each tab's own timer, set for the same moment). */
async function submitEverywhereAtOnce(pages: Page[]): Promise<void> {
  const at = Date.now() + 300;
  await Promise.all(
    pages.map((page) =>
      page.evaluate(
        (moment) =>
          new Promise<void>((resolve, reject) => {
            const button = [...document.querySelectorAll("button")].find((b) => b.textContent?.trim() === "Create survey");
            if (!button) return reject(new Error("no Create survey button"));
            setTimeout(() => {
              button.click();
              resolve();
            }, moment - Date.now());
          }),
        at,
      ),
    ),
  );
}

test("five tabs whose tokens expire together refresh once, and all stay logged in", async ({ page, request, servers, vueApp, admin }) => {
  test.setTimeout(120_000);
  const context = page.context();
  const account = { username: uniqueName("tabs"), password: "correct horse five tabs" };
  const userId = await createAccount(request, servers.url, account);
  const refreshes = recordRefreshes(context, servers.url);
  const created: number[] = [];
  // When latchkey last issued tokens (a login or a refresh): their life counts from then.
  let tokensIssuedAt = Date.now();
  context.on("response", (response) => {
    if (response.request().method() !== "POST") return;
    if (response.url() === `${servers.url}/api/posts`) created.push(response.status());
    if ([`${servers.url}/api/token`, `${servers.url}/api/token/refresh`].includes(response.url())) tokensIssuedAt = Date.now();
  });

  const pages: Page[] = [page];
  await test.step("log in in one tab; four more tabs open already logged in", async () => {
    await page.goto(`${vueApp}/login`);
    await submitLogin(page, account, "Log in");
    await expect(welcome(page, account)).toBeVisible();
    for (let i = 1; i < TABS; i++) {
      const tab = await context.newPage();
      await tab.goto(`${vueApp}/`);
      await expect(welcome(tab, account)).toBeVisible();
      pages.push(tab);
    }
  });

  for (let round = 1; round <= ROUNDS; round++) {
    await test.step(`round ${round}: the tokens run out, all ${TABS} tabs send a survey at once, one refresh`, async () => {
      const surveys = pages.map((_, tab) => oneQuestionSurvey(`Round ${round}, tab ${tab + 1}`));
      for (const [tab, tabPage] of pages.entries()) {
        await tabPage.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Create survey" }).click();
        await fillSurvey(tabPage, surveys[tab]!);
      }
      const wait = tokensIssuedAt + RENEW_AFTER_MS + 500 - Date.now();
      // Waiting for the tokens to age is what this journey is about.
      if (wait > 0) await page.waitForTimeout(wait);

      const refreshesBefore = refreshes.length;
      const auditedBefore = await refreshesAudited(request, servers.url, admin, userId);
      const createdBefore = created.length;

      await submitEverywhereAtOnce(pages);
      // Each tab leaves the form: for the home page when its survey was saved, for /login when it was logged out.
      for (const tabPage of pages) await expect(tabPage).not.toHaveURL(`${vueApp}/surveys/new`);

      expect(refreshes.length - refreshesBefore, "POST /api/token/refresh sent by the browser").toBe(1);
      expect(await refreshesAudited(request, servers.url, admin, userId), "token_refreshed events in latchkey's audit log").toBe(
        auditedBefore + 1,
      );
      expect(created.slice(createdBefore), "every tab's POST /api/posts").toEqual(Array(TABS).fill(201));
      for (const [tab, tabPage] of pages.entries()) {
        await expectSurveyListed(tabPage, vueApp, surveys[tab]!);
        await expect(welcome(tabPage, account)).toBeVisible();
      }
      for (const tabPage of pages) {
        expect(await storedRefreshToken(tabPage)).not.toBeNull();
      }
    });
  }

  await test.step("logging out in one tab logs every tab out", async () => {
    await pages[TABS - 1]!.getByRole("button", { name: "Log out" }).click();
    for (const tabPage of pages) {
      await expect(tabPage.getByRole("link", { name: "Log in / Register" })).toBeVisible();
      await expect(tabPage.getByRole("heading", { level: 1, name: "Surveys" })).toBeVisible();
    }
    expect(await storedRefreshToken(page)).toBeNull();
  });
});
