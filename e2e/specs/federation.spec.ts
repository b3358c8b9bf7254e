import { logIn, logOut, screenshot, signUp, skipWithoutChromium } from "../support/fixtures.ts";
import {
  expect,
  person,
  PROVIDERS,
  requireUpstreamPackages,
  signInAtGitHub,
  signInAtTestProvider,
  test,
} from "../support/federation.ts";
import { currentStep, totp } from "../support/totp.ts";

skipWithoutChromium();
requireUpstreamPackages();

const TEST = PROVIDERS.oidc.label;
const GITHUB = PROVIDERS.github.label;

test("sign up with the test provider, connect GitHub on the account page, disconnect down to the last way in", async ({
  page,
  upstreams,
}) => {
  const ada = person("fed");
  await upstreams.oidc.addAccounts([ada.oidc]);
  await upstreams.github.addAccounts([ada.github]);

  await test.step("the login and signup pages offer every provider", async () => {
    await page.goto("/signup");
    await expect(page.getByRole("link", { name: `Continue with ${GITHUB}` })).toBeVisible();
    await screenshot(page, "federation-signup-buttons");
    await page.goto("/login");
    await expect(page.getByRole("link", { name: `Continue with ${GITHUB}` })).toBeVisible();
    await screenshot(page, "federation-login-buttons");
  });

  await test.step("Continue with the test provider: its own login page, then back as a new user", async () => {
    await page.getByRole("link", { name: `Continue with ${TEST}` }).click();
    await expect(page).toHaveURL(new RegExp(`^${upstreams.oidc.url}/`));
    await expect(page.getByRole("heading", { level: 1, name: "Sign in to the test provider" })).toBeVisible();
    await screenshot(page, "federation-test-provider-login");
    await signInAtTestProvider(page, ada.oidc.sub);
    await expect(page.getByRole("heading", { level: 1, name: `Welcome, ${ada.username}!` })).toBeVisible();
    expect(new URL(page.url()).pathname).toBe("/");
  });

  const section = page.getByRole("region", { name: "Connected accounts" });
  await test.step("the account page lists the provider, and the account has no password yet", async () => {
    await page.getByRole("link", { name: "Account", exact: true }).click();
    const list = section.getByRole("list", { name: "Connected accounts" });
    await expect(list.getByRole("listitem")).toHaveCount(1);
    await expect(list).toContainText(TEST);
    await expect(list).toContainText(ada.email);
    await expect(page.getByRole("region", { name: "Password" })).toContainText("Your account has no password yet");
    await screenshot(page, "federation-account-one-provider");
  });

  await test.step("connect GitHub: its login page, then back on the account page with a notice", async () => {
    await section.getByRole("button", { name: `Connect ${GITHUB}` }).click();
    await expect(page).toHaveURL(new RegExp(`^${upstreams.github.url}/`));
    await signInAtGitHub(page, ada.github.login);
    await expect(page.getByRole("heading", { level: 1, name: "Your account" })).toBeVisible();
    await expect(page.getByText(`Connected ${GITHUB}.`)).toBeVisible();
    expect(new URL(page.url()).pathname).toBe("/account");
    const list = section.getByRole("list", { name: "Connected accounts" });
    await expect(list.getByRole("listitem")).toHaveCount(2);
    await expect(list.getByRole("listitem").filter({ hasText: GITHUB })).toBeVisible();
    await expect(section.getByRole("button", { name: /^Connect / })).toHaveCount(0);
    await screenshot(page, "federation-account-connected");
  });

  await test.step("disconnect the test provider; GitHub, the last way in, cannot be disconnected", async () => {
    await section.getByRole("button", { name: `Disconnect ${TEST}` }).click();
    await section.getByRole("button", { name: "Disconnect", exact: true }).click();
    await expect(section.getByText(`Disconnected ${TEST}.`, { exact: false })).toBeVisible();
    await expect(section.getByRole("list", { name: "Connected accounts" }).getByRole("listitem")).toHaveCount(1);
    await expect(section.getByRole("button", { name: `Connect ${TEST}` })).toBeVisible();

    await section.getByRole("button", { name: `Disconnect ${GITHUB}` }).click();
    await section.getByRole("button", { name: "Disconnect", exact: true }).click();
    await expect(section.getByRole("alert")).toHaveText(
      "This is your only way to log in: set a password or add a passkey first.",
    );
    await screenshot(page, "federation-last-credential");
  });

  await test.step("log out, and log in again with GitHub as the same user", async () => {
    await logOut(page);
    await page.getByRole("link", { name: `Continue with ${GITHUB}` }).click();
    await signInAtGitHub(page, ada.github.login);
    await expect(page.getByRole("heading", { level: 1, name: `Welcome, ${ada.username}!` })).toBeVisible();
  });
});

test("an account with an authenticator app gets its second step after the provider's login", async ({ page, upstreams }) => {
  const grace = person("fedtotp");
  await upstreams.oidc.addAccounts([grace.oidc]);

  await page.goto("/login?next=%2Faccount");
  await page.getByRole("link", { name: `Continue with ${TEST}` }).click();
  await signInAtTestProvider(page, grace.oidc.sub);
  // return_to carried the page the visitor was going to.
  await expect(page.getByRole("heading", { level: 1, name: "Your account" })).toBeVisible();

  const security = page.getByRole("region", { name: "Two-step verification" });
  await security.getByRole("button", { name: "Set up authenticator app" }).click();
  const secret = (await security.getByTestId("totp-secret").textContent())!.trim();
  const enrolledAt = currentStep();
  await security.getByLabel("Code from the app").fill(totp(secret, enrolledAt));
  await security.getByRole("button", { name: "Turn on" }).click();
  const codes = security.getByRole("listitem");
  await expect(codes).toHaveCount(10);
  const recoveryCodes = (await codes.allTextContents()).map((c) => c.trim());
  await security.getByRole("button", { name: "I have saved them" }).click();
  await expect(security.getByText("Authenticator app: on.")).toBeVisible();

  await logOut(page);
  await page.getByRole("link", { name: `Continue with ${TEST}` }).click();
  // The provider remembers the browser's login there; it may or may not ask again.
  const providerPage = page.getByRole("heading", { level: 1, name: "Sign in to the test provider" });
  const secondStep = page.getByRole("heading", { level: 1, name: "Two-step verification" });
  await expect(providerPage.or(secondStep)).toBeVisible();
  if (await providerPage.isVisible()) await signInAtTestProvider(page, grace.oidc.sub);
  await expect(secondStep).toBeVisible();
  await screenshot(page, "federation-second-step");
  await page.getByLabel("Authentication code").fill(totp(secret, Math.max(enrolledAt, currentStep()) + 1));
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("heading", { level: 1, name: `Welcome, ${grace.username}!` })).toBeVisible();

  // Without a password, the app is turned off with a recovery code alone: the login just made is recent.
  await page.getByRole("link", { name: "Account", exact: true }).click();
  await expect(page.getByRole("region", { name: "Password" })).toContainText("Your account has no password yet");
  await security.getByRole("button", { name: "Turn off" }).click();
  const turnOff = security.getByRole("form", { name: "Turn off authenticator app" });
  await expect(turnOff.getByLabel("Your password")).toHaveCount(0);
  await expect(turnOff).not.toContainText("password");
  await turnOff.getByLabel("Code from the app, or a recovery code").fill(recoveryCodes[0]!);
  await screenshot(page, "federation-totp-off");
  await turnOff.getByRole("button", { name: "Turn off authenticator app" }).click();
  await expect(security.getByRole("button", { name: "Set up authenticator app" })).toBeVisible();
});

test("failures are explained in words with a way back: no flow, and an email that belongs to an account", async ({
  page,
  upstreams,
}) => {
  await test.step("the page opened without a round trip to a provider", async () => {
    await page.goto("/login/federated?return_to=%2F");
    await expect(page.getByRole("alert")).toContainText("This sign-in took too long, was already finished");
    await screenshot(page, "federation-expired");
    await page.getByRole("link", { name: "Back to log in" }).click();
    await expect(page.getByRole("heading", { level: 1, name: "Log in" })).toBeVisible();
  });

  await test.step("the person refuses at the provider", async () => {
    await page.goto("/login");
    const authorize = page.waitForRequest((request) => request.url().startsWith(`${upstreams.oidc.url}/auth?`));
    await page.getByRole("link", { name: `Continue with ${TEST}` }).click();
    const state = new URL((await authorize).url()).searchParams.get("state");
    expect(state).toBeTruthy();
    await expect(page.getByRole("heading", { level: 1, name: "Sign in to the test provider" })).toBeVisible();
    // What a provider's "Cancel" answers (RFC 6749 §4.1.2.1): back to the callback with the
    // same state and an error instead of a code.
    await page.goto(`/api/federation/${PROVIDERS.oidc.id}/callback?error=access_denied&state=${encodeURIComponent(state!)}`);
    await expect(page.getByRole("alert")).toContainText("Signing in with the provider did not work");
    expect(new URL(page.url()).pathname).toBe("/login/federated");
    await screenshot(page, "federation-failed");
  });

  await test.step("a provider account whose email an existing account has is not joined to it", async () => {
    const carol = person("fedexists");
    const account = { username: carol.username, password: "quartz meadow 1902" };
    await signUp(page, account, carol.email);
    await logOut(page);
    await upstreams.oidc.addAccounts([{ ...carol.oidc, sub: `other-${carol.username}` }]);

    await page.getByRole("link", { name: `Continue with ${TEST}` }).click();
    await signInAtTestProvider(page, `other-${carol.username}`);
    await expect(page.getByRole("alert")).toContainText(
      "An account with this email address already exists. Log in with your password, then connect the provider from your account page.",
    );
    await screenshot(page, "federation-account-exists");

    // What the words say works: log in with the password, then connect from the account page.
    await page.getByRole("link", { name: "Back to log in" }).click();
    await logIn(page, account);
    await expect(page.getByRole("heading", { level: 1, name: `Welcome, ${carol.username}!` })).toBeVisible();
    await page.getByRole("link", { name: "Account", exact: true }).click();
    const section = page.getByRole("region", { name: "Connected accounts" });
    await section.getByRole("button", { name: `Connect ${TEST}` }).click();
    const providerPage = page.getByRole("heading", { level: 1, name: "Sign in to the test provider" });
    const back = page.getByText(`Connected ${TEST}.`);
    await expect(providerPage.or(back)).toBeVisible();
    if (await providerPage.isVisible()) await signInAtTestProvider(page, `other-${carol.username}`);
    await expect(back).toBeVisible();
    await expect(section.getByRole("list", { name: "Connected accounts" })).toContainText(TEST);
  });
});

test("an admin sees a user's connected accounts and removes one, but not the user's last way in", async ({
  page,
  browser,
  baseURL,
  admin,
  upstreams,
}) => {
  const erin = person("fedadmin");
  await upstreams.oidc.addAccounts([erin.oidc]);
  await upstreams.github.addAccounts([erin.github]);
  await page.goto("/login?next=%2Faccount");
  await page.getByRole("link", { name: `Continue with ${TEST}` }).click();
  await signInAtTestProvider(page, erin.oidc.sub);
  await page.getByRole("region", { name: "Connected accounts" }).getByRole("button", { name: `Connect ${GITHUB}` }).click();
  await signInAtGitHub(page, erin.github.login);
  await expect(page.getByText(`Connected ${GITHUB}.`)).toBeVisible();

  const adminContext = await browser.newContext({ baseURL });
  const asAdmin = await adminContext.newPage();
  await logIn(asAdmin, admin);
  await expect(asAdmin.getByRole("heading", { level: 1, name: `Welcome, ${admin.username}!` })).toBeVisible();
  await asAdmin.goto("/admin/users");
  await asAdmin.getByRole("button", { name: `Connected accounts of ${erin.username}` }).click();
  const accounts = asAdmin.getByRole("group", { name: `Connected accounts of ${erin.username}` });
  await expect(accounts.getByRole("listitem")).toHaveCount(2);
  await expect(accounts).toContainText(`${erin.username} has no password`);
  // Clicking scrolled the wide table sideways; the picture shows it from its start.
  await asAdmin.locator(".table-wrap").evaluate((wrap) => (wrap.scrollLeft = 0));
  await screenshot(asAdmin, "federation-admin-identities");

  await accounts.getByRole("button", { name: `Remove ${TEST} from ${erin.username}` }).click();
  await accounts.getByRole("button", { name: "Remove", exact: true }).click();
  await expect(accounts.getByText(`${TEST} no longer logs in to ${erin.username}.`)).toBeVisible();
  await expect(accounts.getByRole("listitem")).toHaveCount(1);

  await accounts.getByRole("button", { name: `Remove ${GITHUB} from ${erin.username}` }).click();
  await accounts.getByRole("button", { name: "Remove", exact: true }).click();
  await expect(accounts.getByRole("alert")).toHaveText(
    `That is the only way ${erin.username} can log in: they need a password or a passkey first.`,
  );
  await expect(accounts.getByRole("listitem")).toHaveCount(1);
  await adminContext.close();
});
