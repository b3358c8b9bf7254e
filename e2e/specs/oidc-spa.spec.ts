// latchkey as an OpenID Provider, seen from a relying party: examples/oidc-spa (oidc-client-ts,
// a public client with PKCE) on its own origin logs in through latchkey's login and consent
// pages, renews its tokens with the rotating refresh token, and logs out of latchkey too.

import type { Page } from "@playwright/test";
import { expect, logIn, screenshot, skipWithoutChromium, uniqueName } from "../support/fixtures.ts";
import type { Servers } from "../support/latchkey.ts";
import { claim, recordTokenCalls, SPA_NAME, test, type Spa } from "../support/oidc-spa.ts";

skipWithoutChromium();

// The words latchkey's consent page uses for the scopes the app asks for.
const SCOPE_WORDS = ["Know who you are (your account id)", "See your email address", "See your username", "See your roles"];

interface Person {
  username: string;
  password: string;
  email: string;
}

/** An account with an email address and the role `editor` (besides `user`), made with the CLI. */
async function createPerson(cli: Servers["cli"], prefix: string): Promise<Person> {
  const username = uniqueName(prefix);
  const person = { username, password: "correct horse oidc spa", email: `${username}@example.com` };
  const created = await cli(["user", "create", "--username", username, "--email", person.email], `${person.password}\n`);
  expect(created.code, `user create: ${created.stdout}${created.stderr}`).toBe(0);
  const roles = await cli(["user", "set-roles", "--username", username, "editor"]);
  expect(roles.code, `user set-roles: ${roles.stdout}${roles.stderr}`).toBe(0);
  return person;
}

async function openSpa(page: Page, spa: Spa): Promise<void> {
  await page.goto(`${spa.url}/`);
  await expect(page.getByRole("status")).toHaveText("Not logged in");
}

/** From the app's button to latchkey's login page for this app, where `person` logs in. */
async function logInAtLatchkey(page: Page, latchkeyUrl: string, person: Person, shot?: string): Promise<void> {
  await page.getByRole("button", { name: "Log in with latchkey" }).click();
  await expect(page).toHaveURL(new RegExp(`^${latchkeyUrl}/login\\?oauth=[A-Za-z0-9_-]{43}$`));
  await expect(page.getByText(`Log in to continue to ${SPA_NAME}`)).toBeVisible();
  if (shot) await screenshot(page, shot);
  await logIn(page, person);
}

async function expectConsentPage(page: Page, latchkeyUrl: string): Promise<void> {
  await expect(page).toHaveURL(new RegExp(`^${latchkeyUrl}/consent\\?oauth=[A-Za-z0-9_-]{43}$`));
  await expect(page.getByRole("heading", { name: `${SPA_NAME} wants to:` })).toBeVisible();
  for (const words of SCOPE_WORDS) await expect(page.getByText(words)).toBeVisible();
  // The app does not ask for offline_access: its refresh token ends with latchkey's session.
  await expect(page.getByText("Stay connected while you are away")).toHaveCount(0);
}

async function expectLoggedIn(page: Page, spa: Spa, person: Person): Promise<void> {
  await expect(page.getByRole("heading", { level: 2, name: `Hello, ${person.username}` })).toBeVisible();
  await expect(page).toHaveURL(`${spa.url}/`);
}

test("log in to the SPA at latchkey, consent, renew the tokens, log out of both", async ({ page, servers, spa }) => {
  // The app's clock, moved forward below to reach the automatic renewal; it runs on by itself meanwhile.
  await page.clock.install();
  const ada = await createPerson(servers.cli, "oidc");
  const tokens = recordTokenCalls(page, servers.url);

  await test.step("the app's button leads to latchkey's login page, naming the app", async () => {
    await openSpa(page, spa);
    const authorize = page.waitForRequest((r) => r.url().startsWith(`${servers.url}/oauth2/authorize?`));
    await logInAtLatchkey(page, servers.url, ada, "oidc-login");
    const params = new URL((await authorize).url()).searchParams;
    expect(params.get("client_id")).toBe(spa.clientId);
    expect(params.get("redirect_uri")).toBe(`${spa.url}/callback`);
    expect(params.get("response_type")).toBe("code");
    expect(params.get("code_challenge_method")).toBe("S256");
    expect(params.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.get("scope")?.split(" ").sort()).toEqual(["email", "openid", "profile", "roles"]);
  });

  await test.step("the consent page says what the app may do, in words", async () => {
    await expectConsentPage(page, servers.url);
    await screenshot(page, "oidc-consent");
  });

  let first: { access: string; refresh: string };
  await test.step("Allow: back in the app, which shows the ID token's claims and the userinfo answer", async () => {
    const callback = page.waitForRequest((r) => r.url().startsWith(`${spa.url}/callback?`));
    await page.getByRole("button", { name: "Allow" }).click();
    const back = new URL((await callback).url()).searchParams;
    expect(back.get("code")).toBeTruthy();
    expect(back.get("state")).toBeTruthy();
    expect(back.get("iss")).toBe(servers.url);

    await expectLoggedIn(page, spa, ada);
    await expect(claim(page, "preferred_username")).toHaveText(ada.username);
    await expect(claim(page, "email")).toHaveText(ada.email);
    await expect(claim(page, "email_verified")).toHaveText(/^(true|false)$/);
    await expect(claim(page, "iss")).toHaveText(servers.url);
    await expect(claim(page, "aud")).toHaveText(spa.clientId);
    await expect(claim(page, "sub")).toHaveText(/^\S+$/);
    const roles = JSON.parse((await claim(page, "roles").textContent()) ?? "null") as unknown;
    expect(Array.isArray(roles) && [...roles].sort()).toEqual(["editor", "user"]);

    const sub = (await claim(page, "sub").textContent())!;
    const userinfo = page.getByRole("region", { name: "Userinfo endpoint" });
    await expect(userinfo).toContainText(`"sub": "${sub}"`);
    await expect(userinfo).toContainText(`"email": "${ada.email}"`);

    await expect.poll(() => tokens.length).toBe(1);
    const [code] = tokens;
    expect(code!.grantType).toBe("authorization_code");
    expect(code!.status).toBe(200);
    expect(code!.body?.token_type).toBe("Bearer");
    expect(code!.body?.id_token).toBeTruthy();
    expect(code!.body?.refresh_token, "latchkey gives a public client a refresh token").toBeTruthy();
    first = { access: code!.body!.access_token!, refresh: code!.body!.refresh_token! };
    await expect(page.getByRole("region", { name: "Access token" })).toContainText(`…${first.access.slice(-8)}`);
    await screenshot(page, "oidc-spa-logged-in");
  });

  let second: { access: string; refresh: string };
  await test.step("Renew now: one refresh request, new tokens, still logged in", async () => {
    await page.getByRole("button", { name: "Renew now" }).click();
    await expect(page.getByText("Access token renewed")).toBeVisible();
    // Nothing else renews meanwhile: exactly one refresh request.
    await page.waitForTimeout(500);
    expect(tokens.map((t) => t.grantType)).toEqual(["authorization_code", "refresh_token"]);
    const refresh = tokens[1]!;
    expect(refresh.refreshTokenSent).toBe(first.refresh);
    expect(refresh.status).toBe(200);
    second = { access: refresh.body!.access_token!, refresh: refresh.body!.refresh_token! };
    expect(second.access).toBeTruthy();
    expect(second.access).not.toBe(first.access);
    expect(second.refresh, "the refresh token rotates").toBeTruthy();
    expect(second.refresh).not.toBe(first.refresh);
    expect(refresh.body?.id_token, "a refresh answer has an ID token too").toBeTruthy();

    await expectLoggedIn(page, spa, ada);
    await expect(page.getByRole("region", { name: "Access token" })).toContainText(`…${second.access.slice(-8)}`);
    await expect(page.getByRole("alert")).toBeHidden();
  });

  await test.step("automatic renewal: a minute before the access token expires, the app renews it by itself", async () => {
    const expiresIn = Number(tokens[1]!.body!.expires_in);
    expect(expiresIn).toBeGreaterThan(60);
    // oidc-client-ts checks every 5 s for "a minute before expiry"; jump to half a minute before.
    await page.clock.fastForward((expiresIn - 30) * 1000);
    await expect.poll(() => tokens.length, { timeout: 10_000 }).toBe(3);
    const auto = tokens[2]!;
    expect(auto.grantType).toBe("refresh_token");
    expect(auto.refreshTokenSent).toBe(second.refresh);
    expect(auto.status).toBe(200);
    await expect(page.getByRole("region", { name: "Access token" })).toContainText(`…${auto.body!.access_token!.slice(-8)}`);
    await expectLoggedIn(page, spa, ada);
    second = { access: auto.body!.access_token!, refresh: auto.body!.refresh_token! };
  });

  await test.step("Log out: latchkey ends its session and sends the browser back to the app", async () => {
    const logout = page.waitForRequest((r) => r.url().startsWith(`${servers.url}/oauth2/logout?`));
    await page.getByRole("button", { name: "Log out" }).click();
    const params = new URL((await logout).url()).searchParams;
    expect(params.get("id_token_hint")).toBeTruthy();
    expect(params.get("post_logout_redirect_uri")).toBe(`${spa.url}/`);

    await expect(page.getByRole("button", { name: "Log in with latchkey" })).toBeVisible();
    await expect(page.getByRole("status")).toHaveText("Not logged in");
    await expect(page.getByText("Logged out of latchkey.")).toBeVisible();
    await expect(page.getByRole("alert")).toBeHidden();
    expect(new URL(page.url()).origin).toBe(spa.url);
    await screenshot(page, "oidc-spa-logged-out");
  });

  await test.step("the app's tokens are dead, and latchkey's own pages ask for a login again", async () => {
    const userinfo = await page.request.get(`${servers.url}/oauth2/userinfo`, {
      headers: { Authorization: `Bearer ${second.access}` },
    });
    expect(userinfo.status()).toBe(401);
    const refresh = await page.request.post(`${servers.url}/oauth2/token`, {
      form: { grant_type: "refresh_token", refresh_token: second.refresh, client_id: spa.clientId },
    });
    expect(refresh.status()).toBe(400);
    expect(((await refresh.json()) as { error?: string }).error).toBe("invalid_grant");

    await page.goto(`${servers.url}/account`);
    await expect(page.getByRole("heading", { level: 1, name: "Log in" })).toBeVisible();
    expect(new URL(page.url()).pathname).toBe("/login");
  });
});

test("consent is asked once per person and app; Deny brings the app back with access_denied", async ({
  page,
  servers,
  spa,
}) => {
  const grace = await createPerson(servers.cli, "oidc2");
  const ken = await createPerson(servers.cli, "oidc3");
  // After a login on latchkey's page its web app passes through /consent?oauth=… to accept
  // a request it need not ask about; what must not appear is the question itself.
  let consentAsked = 0;
  await page.exposeFunction("__consentAsked", () => consentAsked++);
  await page.addInitScript(() => {
    const asked = () => [...document.querySelectorAll("h2")].some((h) => h.textContent?.endsWith(" wants to:"));
    let reported = false;
    new MutationObserver(() => {
      if (!reported && asked()) {
        reported = true;
        (window as unknown as { __consentAsked: () => void }).__consentAsked();
      }
    }).observe(document, { childList: true, subtree: true });
  });

  await test.step("the first login asks for consent", async () => {
    await openSpa(page, spa);
    await logInAtLatchkey(page, servers.url, grace);
    await expectConsentPage(page, servers.url);
    await page.getByRole("button", { name: "Allow" }).click();
    await expectLoggedIn(page, spa, grace);
    expect(consentAsked).toBe(1);
  });

  await test.step("after logging out, the next login goes straight back to the app", async () => {
    await page.getByRole("button", { name: "Log out" }).click();
    await expect(page.getByRole("button", { name: "Log in with latchkey" })).toBeVisible();
    await logInAtLatchkey(page, servers.url, grace);
    await expectLoggedIn(page, spa, grace);
    expect(consentAsked, "the consent question was asked again").toBe(1);
  });

  await test.step("another tab of the app, with latchkey's session alive, logs in without a page of latchkey's", async () => {
    const tab = await page.context().newPage();
    const seen: string[] = [];
    tab.on("framenavigated", (frame) => {
      if (frame === tab.mainFrame()) seen.push(frame.url());
    });
    await openSpa(tab, spa);
    await tab.getByRole("button", { name: "Log in with latchkey" }).click();
    await expectLoggedIn(tab, spa, grace);
    expect(seen.filter((url) => url.startsWith(`${servers.url}/login`) || url.startsWith(`${servers.url}/consent`))).toEqual([]);
    await tab.close();
  });

  await test.step("another person who clicks Deny is sent back to the app with access_denied", async () => {
    await page.getByRole("button", { name: "Log out" }).click();
    await expect(page.getByRole("button", { name: "Log in with latchkey" })).toBeVisible();
    await logInAtLatchkey(page, servers.url, ken);
    await expectConsentPage(page, servers.url);
    const callback = page.waitForRequest((r) => r.url().startsWith(`${spa.url}/callback?`));
    await page.getByRole("button", { name: "Deny" }).click();
    const back = new URL((await callback).url()).searchParams;
    expect(back.get("error")).toBe("access_denied");
    expect(back.get("code")).toBeNull();
    expect(back.get("state")).toBeTruthy();
    expect(back.get("iss")).toBe(servers.url);

    await expect(page.getByRole("alert")).toContainText("access_denied");
    await expect(page.getByRole("status")).toHaveText("Not logged in");
    await expect(page.getByRole("button", { name: "Log in with latchkey" })).toBeVisible();
    await screenshot(page, "oidc-spa-denied");
  });
});
