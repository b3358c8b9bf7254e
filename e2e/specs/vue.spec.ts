// examples/vue, the survey app of the Vue/JWT tutorial rebuilt on latchkey's token mode
// (@latchkey/client): the route guard, registering, creating surveys with the Bearer
// token, a login that survives a reload and an expired access token, a tampered token
// told apart from an expired one, and logging out.

import { expect, screenshot, skipWithoutChromium, uniqueName } from "../support/fixtures.ts";
import {
  expectSurveyListed,
  fillSurvey,
  listedSurvey,
  nextPostAnswer,
  recordRefreshes,
  storedRefreshRecord,
  storedRefreshToken,
  submitLogin,
  test,
  welcome,
  type SurveyInput,
} from "../support/vue.ts";

skipWithoutChromium();

const EDITORS: SurveyInput = {
  name: "Favourite editor",
  questions: [
    { text: "Which editor do you use most?", choices: ["Vim", "Emacs", "VS Code"] },
    { text: "Tabs or spaces?", choices: ["Tabs", "Spaces"] },
  ],
};
const LUNCH: SurveyInput = {
  name: "Team lunch",
  questions: [{ text: "Where shall we eat on Friday?", choices: ["Noodle bar", "Pizzeria", "Canteen"] }],
};
const RELEASE: SurveyInput = {
  name: "Release day",
  questions: [{ text: "Which day suits the next release?", choices: ["Tuesday", "Wednesday"] }],
};

/** The same JWT claiming the admin role: its signature no longer matches. */
function withAdminRole(authorization: string | undefined): string {
  const [header, payload, signature] = (authorization ?? "").replace(/^Bearer /, "").split(".");
  if (!header || !payload || !signature) throw new Error(`not a Bearer JWT: ${authorization}`);
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { roles: string[] };
  claims.roles = [...claims.roles, "admin"];
  return `Bearer ${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${signature}`;
}

test("guarded routes, register, surveys with the Bearer token, reload, silent renewal, a tampered token, log out", async ({
  page,
  servers,
  vueApp,
}) => {
  // The app's clock: moved 16 minutes on below, past the access token's 15.
  await page.clock.install();
  const account = { username: uniqueName("vue"), password: "correct horse survey" };
  const refreshes = recordRefreshes(page.context(), servers.url);
  const postsUrl = `${servers.url}/api/posts`;
  const isCreate = (url: string, method: string) => url === postsUrl && method === "POST";

  await test.step("a page that needs a login sends the visitor to /login with the way back", async () => {
    await page.goto(`${vueApp}/surveys/new`);
    await expect(page).toHaveURL(`${vueApp}/login?next=/surveys/new`);
    await expect(page.getByRole("heading", { level: 1, name: "Log in or register" })).toBeVisible();
    await expect(page.getByRole("alert")).toHaveText("Log in to continue.");
    await expect(page.getByRole("link", { name: "Log in / Register" })).toBeVisible();
    await screenshot(page, "vue-login");
  });

  await test.step("a login with an unknown account is refused in words", async () => {
    const refused = nextPostAnswer(page, servers.url, "/api/token");
    await submitLogin(page, account, "Log in");
    expect((await refused).status()).toBe(401);
    await expect(page.getByRole("alert").filter({ hasText: "Wrong username or password." })).toBeVisible();
    await screenshot(page, "vue-wrong-password");
    await expect(page).toHaveURL(`${vueApp}/login?next=/surveys/new`);
  });

  await test.step("registering logs in with tokens and goes on to the page asked for", async () => {
    const tokenLogin = nextPostAnswer(page, servers.url, "/api/token");
    await submitLogin(page, account, "Register");
    expect((await tokenLogin).status()).toBe(200);
    await expect(page).toHaveURL(`${vueApp}/surveys/new`);
    await expect(page.getByRole("heading", { level: 1, name: "Create a survey" })).toBeVisible();
    // Only the refresh token is stored (in IndexedDB); the access token (a JWT: three dot-separated base64url parts) stays in memory.
    const record = await storedRefreshRecord(page);
    expect(Object.keys(record ?? {}).sort()).toEqual(["fresh_until", "refresh_token"]);
    const storage = await page.evaluate(() => JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage } }));
    expect(Object.keys((JSON.parse(storage) as { local: object }).local)).toEqual([]);
    expect(storage).not.toMatch(/eyJ[\w-]*\.[\w-]+\.[\w-]+/);
    expect(JSON.stringify(record)).not.toMatch(/eyJ[\w-]*\.[\w-]+\.[\w-]+/);
  });

  await test.step("the home page welcomes the user by name", async () => {
    await page.getByRole("link", { name: "Surveys", exact: true }).click();
    await expect(welcome(page, account)).toBeVisible();
    await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Create survey" })).toBeVisible();
  });

  await test.step("a logged-in user creates a survey: a post sent with the Bearer token", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Create survey" }).click();
    await fillSurvey(page, EDITORS);
    await screenshot(page, "vue-new-survey");
    const created = page.waitForRequest((r) => isCreate(r.url(), r.method()));
    await page.getByRole("button", { name: "Create survey" }).click();
    const request = await created;
    expect(request.headers()["authorization"]).toMatch(/^Bearer eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
    expect((await request.response())?.status()).toBe(201);
    await expectSurveyListed(page, vueApp, EDITORS);
    await expect(welcome(page, account)).toBeVisible();
    await screenshot(page, "vue-home");

    // latchkey holds it as a public post by this user, in words.
    const posts = (await (await page.request.get(postsUrl)).json()) as { posts: { body: string; author: { username: string } }[] };
    expect(posts.posts[0]?.author.username).toBe(account.username);
    expect(posts.posts[0]?.body).toBe(
      "Survey: Favourite editor\n1. Which editor do you use most?\n   - Vim\n   - Emacs\n   - VS Code\n2. Tabs or spaces?\n   - Tabs\n   - Spaces",
    );
  });

  await test.step("a reload keeps the login: the stored refresh token buys a new access token", async () => {
    const before = await storedRefreshToken(page);
    const refreshed = nextPostAnswer(page, servers.url, "/api/token/refresh");
    const count = refreshes.length;
    await page.reload();
    expect((await refreshed).status()).toBe(200);
    await expect(welcome(page, account)).toBeVisible();
    expect(refreshes.length).toBe(count + 1);
    // Refresh tokens are single use: the stored one was replaced.
    expect(await storedRefreshToken(page)).not.toBe(before);
  });

  await test.step("an expired access token is renewed silently before the next request", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Create survey" }).click();
    await fillSurvey(page, LUNCH);
    const count = refreshes.length;
    await page.clock.fastForward("16:00");
    const refreshed = nextPostAnswer(page, servers.url, "/api/token/refresh");
    const created = page.waitForRequest((r) => isCreate(r.url(), r.method()));
    await page.getByRole("button", { name: "Create survey" }).click();
    const renewal = await refreshed;
    expect(renewal.status()).toBe(200);
    const { access_token } = (await renewal.json()) as { access_token: string };
    const request = await created;
    expect(request.headers()["authorization"]).toBe(`Bearer ${access_token}`);
    expect((await request.response())?.status()).toBe(201);
    expect(refreshes.length).toBe(count + 1);
    await expectSurveyListed(page, vueApp, LUNCH);
    await expect(welcome(page, account)).toBeVisible();
  });

  await test.step("a tampered token is refused as invalid, not expired, and the app says which", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Create survey" }).click();
    await fillSurvey(page, RELEASE);
    await page.route(postsUrl, async (route) => {
      const request = route.request();
      if (request.method() !== "POST") return route.continue();
      await route.continue({ headers: { ...request.headers(), authorization: withAdminRole(request.headers()["authorization"]) } });
    });
    const refused = nextPostAnswer(page, servers.url, "/api/posts");
    await page.getByRole("button", { name: "Create survey" }).click();
    const response = await refused;
    expect(response.status()).toBe(401);
    expect(((await response.json()) as { error: string }).error).toBe("invalid_token");
    await page.unroute(postsUrl);

    await expect(page).toHaveURL(`${vueApp}/login?next=/surveys/new`);
    await expect(page.getByRole("alert")).toHaveText("latchkey did not accept your token (invalid token). Log in again to continue.");
    await expect(page.getByRole("link", { name: "Log in / Register" })).toBeVisible();
    // The app dropped (and revoked) the login whose token was refused.
    await expect.poll(() => storedRefreshToken(page)).toBeNull();
    await screenshot(page, "vue-invalid-token");
  });

  await test.step("logging in again leads back to the survey being written", async () => {
    await submitLogin(page, account, "Log in");
    await expect(page).toHaveURL(`${vueApp}/surveys/new`);
    await expect(page.getByLabel("Survey name")).toHaveValue(RELEASE.name);
    await page.getByRole("button", { name: "Create survey" }).click();
    await expectSurveyListed(page, vueApp, RELEASE);
  });

  await test.step("logging out revokes the refresh token and closes the guarded page again", async () => {
    const stored = await storedRefreshToken(page);
    expect(stored).not.toBeNull();
    const revoked = nextPostAnswer(page, servers.url, "/api/token/revoke");
    await page.getByRole("button", { name: "Log out" }).click();
    const revocation = await revoked;
    expect(revocation.status()).toBe(204);
    expect(revocation.request().postDataJSON()).toEqual({ refresh_token: stored });
    await expect(page.getByRole("heading", { level: 1, name: "Surveys" })).toBeVisible();
    await expect(page.getByRole("link", { name: "Log in / Register" })).toBeVisible();
    expect(await storedRefreshToken(page)).toBeNull();
    // Surveys stay public.
    await expect(listedSurvey(page, EDITORS.name)).toBeVisible();
    await screenshot(page, "vue-logged-out");

    const replayed = await page.request.post(`${servers.url}/api/token/refresh`, { data: { refresh_token: stored } });
    expect(replayed.status()).toBe(401);
    expect(((await replayed.json()) as { error: string }).error).toBe("invalid_token");

    await page.goto(`${vueApp}/surveys/new`);
    await expect(page).toHaveURL(`${vueApp}/login?next=/surveys/new`);
  });
});
