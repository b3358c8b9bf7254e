// examples/vue when latchkey ends a login while the page is open: the access token has
// expired and the refresh token was revoked (an admin ended the user's sessions), so the
// next request cannot be renewed, and the app says "Your session expired", which it tells
// apart from a token latchkey does not accept at all (vue.spec.ts).

import { expect, screenshot, skipWithoutChromium, uniqueName } from "../support/fixtures.ts";
import { fillSurvey, nextPostAnswer, storedRefreshToken, submitLogin, test } from "../support/vue.ts";

skipWithoutChromium();

// Access tokens that latchkey calls expired 31 s after they are issued (1 s plus its 30 s leeway).
test.use({ serverConfig: `[tokens]\naccess_ttl = "1s"` });

const LUNCH = {
  name: "Team lunch",
  questions: [{ text: "Where shall we eat on Friday?", choices: ["Noodle bar", "Pizzeria", "Canteen"] }],
};

test("a login latchkey ended while the page was open is told as an expired session, not an invalid token", async ({
  page,
  request,
  servers,
  vueApp,
  admin,
}) => {
  test.setTimeout(90_000);
  const account = { username: uniqueName("vue-exp"), password: "correct horse expired" };
  // The app's clock stands still: it never finds its token due, so it sends the one latchkey will call expired.
  const now = Date.now();
  await page.clock.install({ time: now });
  await page.clock.pauseAt(now + 1_000);

  await page.goto(`${vueApp}/login?next=/surveys/new`);
  const tokenLogin = nextPostAnswer(page, servers.url, "/api/token");
  await submitLogin(page, account, "Register");
  const { access_token: accessToken, user } = (await (await tokenLogin).json()) as { access_token: string; user: { id: number } };
  await expect(page.getByRole("heading", { level: 1, name: "Create a survey" })).toBeVisible();
  await fillSurvey(page, LUNCH);

  await test.step("latchkey ends the login (an admin revokes the user's sessions) and the access token expires", async () => {
    const adminLogin = await request.post(`${servers.url}/api/token`, { data: admin });
    const { access_token: adminToken } = (await adminLogin.json()) as { access_token: string };
    const revoked = await request.delete(`${servers.url}/api/users/${user.id}/sessions`, {
      headers: { Authorization: `Bearer ${adminToken}` },
    });
    expect(revoked.status()).toBe(204);
    await expect
      .poll(
        async () => {
          const me = await request.get(`${servers.url}/api/me`, { headers: { Authorization: `Bearer ${accessToken}` } });
          return ((await me.json()) as { error?: string }).error;
        },
        { timeout: 45_000, intervals: [1_000] },
      )
      .toBe("token_expired");
  });

  await test.step("the next request finds the token expired and no way to renew it: 'Your session expired'", async () => {
    const refused = nextPostAnswer(page, servers.url, "/api/posts");
    const renewal = nextPostAnswer(page, servers.url, "/api/token/refresh");
    await page.getByRole("button", { name: "Create survey" }).click();
    expect(((await (await refused).json()) as { error: string }).error).toBe("token_expired");
    expect((await renewal).status()).toBe(401);

    await expect(page).toHaveURL(`${vueApp}/login?next=/surveys/new`);
    await expect(page.getByRole("alert")).toHaveText("Your session expired. Log in again to continue.");
    await expect(page.getByRole("link", { name: "Log in / Register" })).toBeVisible();
    expect(await storedRefreshToken(page)).toBeNull();
    await screenshot(page, "vue-session-expired");
  });
});
