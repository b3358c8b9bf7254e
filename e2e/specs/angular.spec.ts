// examples/angular: an Angular app on its own origin that registers, logs in and out
// with latchkey's session cookie through @latchkey/client. It is served on `localhost`
// like latchkey, on another port: another origin but the same site, so the cookie goes
// along with `credentials: "include"`, and latchkey lists the app in cors.allowed_origins.

import type { Page } from "@playwright/test";
import { buildExample, serveExample } from "../support/examples.ts";
import {
  test as base,
  expect,
  logIn as logInAtLatchkey,
  logOut as logOutAtLatchkey,
  screenshot,
  signUp as signUpAtLatchkey,
  skipWithoutChromium,
  uniqueName,
} from "../support/fixtures.ts";
import { freePort, startServers } from "../support/latchkey.ts";
import { currentStep, enableTotp, totp } from "../support/totp.ts";

skipWithoutChromium();

// Few enough failed logins that the journey reaches latchkey's 429 quickly.
const LOGINS_PER_ACCOUNT = 3;

interface AngularFixtures {
  /** The app's port, chosen before latchkey starts so it can be listed as an allowed origin. */
  appPort: number;
  /** The app's origin, `http://localhost:<appPort>`. */
  app: string;
}

const test = base.extend<object, AngularFixtures>({
  appPort: [
    // eslint-disable-next-line no-empty-pattern -- Playwright reads a fixture's dependencies from this pattern.
    async ({}, use) => use(await freePort()),
    { scope: "worker" },
  ],
  servers: [
    async ({ appPort }, use, workerInfo) => {
      const servers = await startServers(`angular-${workerInfo.workerIndex}`, {
        corsOrigins: [`http://localhost:${appPort}`],
        extraConfig: `[throttle]\nlogin_per_account = ${LOGINS_PER_ACCOUNT}`,
      });
      await use(servers);
      await servers.stop();
    },
    { scope: "worker" },
  ],
  app: [
    async ({ servers, appPort }, use) => {
      await buildExample("angular");
      const served = await serveExample("angular", { port: appPort, config: { latchkey_url: servers.url } });
      try {
        await use(`http://localhost:${appPort}`);
      } finally {
        await served.stop();
      }
    },
    // A first `npm ci` and `ng build` (and the client package's build) take a while.
    { scope: "worker", timeout: 240_000 },
  ],
});

const PASSWORD = "correct horse angular";

function sessionStatus(page: Page) {
  return page.getByRole("status");
}

async function expectLoginPage(page: Page, app: string, next: string): Promise<void> {
  await expect(page).toHaveURL(`${app}/login?next=${encodeURIComponent(next)}`);
  await expect(page.getByRole("heading", { level: 1, name: "Log in" })).toBeVisible();
}

async function logIn(page: Page, username: string, password: string): Promise<void> {
  await page.getByLabel("Username or email").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
}

test("register, stay logged in across a reload, log out, log in again; restricted pages need a login", async ({
  page,
  app,
  servers,
}) => {
  const taken = uniqueName("ng-taken");
  const created = await servers.cli(["user", "create", "--username", taken], `${PASSWORD}\n`);
  expect(created.code, `user create: ${created.stdout}${created.stderr}`).toBe(0);
  const username = uniqueName("ng");

  await test.step("a restricted page sends a logged-out visitor to the login", async () => {
    await page.goto(`${app}/members`);
    await expectLoginPage(page, app, "/members");
    await expect(page.getByText("Log in to see that page.")).toBeVisible();
    await screenshot(page, "angular-login");
  });

  await test.step("latchkey's validation messages stand under their fields", async () => {
    await page.getByRole("main").getByRole("link", { name: "Register" }).click();
    await expect(page).toHaveURL(`${app}/register?next=${encodeURIComponent("/members")}`);
    await page.getByLabel("Username").fill(username);
    await page.getByLabel("Password", { exact: true }).fill("short");
    await page.getByLabel("Confirm password").fill("shorter");
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByRole("alert")).toHaveText("Some fields need another look.");
    await expect(page.getByLabel("Password", { exact: true })).toHaveAccessibleDescription("must be at least 8 characters");
    await expect(page.getByLabel("Confirm password")).toHaveAccessibleDescription("does not match the password");
    await expect(page.getByLabel("Username")).toHaveAttribute("aria-invalid", "false");
    await screenshot(page, "angular-register-invalid");
  });

  await test.step("a taken username is named under its field", async () => {
    await page.getByLabel("Username").fill(taken);
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByLabel("Confirm password").fill(PASSWORD);
    await page.getByRole("button", { name: "Create account" }).click();
    const field = page.getByLabel("Username");
    await expect(field).toHaveAttribute("aria-invalid", "true");
    await expect(field).toHaveAccessibleDescription("That username is taken");
    await screenshot(page, "angular-register-taken");
  });

  await test.step("registering logs in and returns to the restricted page", async () => {
    await page.getByLabel("Username").fill(username);
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page).toHaveURL(`${app}/members`);
    await expect(page.getByRole("heading", { level: 1, name: "Members" })).toBeVisible();
    await expect(page.getByText(`Hello, ${username}.`)).toBeVisible();
  });

  await test.step("the status page shows who is logged in, from check_session", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Status", exact: true }).click();
    await expect(sessionStatus(page)).toHaveText(`Logged in as ${username}`);
    const checked = page.waitForResponse(`${servers.url}/api/check_session`);
    await page.getByRole("button", { name: "Check again" }).click();
    expect((await checked).status()).toBe(200);
    await expect(page.getByText(/^latchkey answered at /)).toBeVisible();
    await screenshot(page, "angular-status");
  });

  await test.step("a reload keeps the login: the cookie is the session, the page stores nothing", async () => {
    const checked = page.waitForResponse(`${servers.url}/api/check_session`);
    await page.reload();
    expect((await checked).status()).toBe(200);
    await expect(sessionStatus(page)).toHaveText(`Logged in as ${username}`);
    expect(await page.evaluate(() => localStorage.length + sessionStorage.length)).toBe(0);
    expect(await page.evaluate(() => document.cookie)).toBe("");
  });

  await test.step("a restricted page reads GET /api/me with the session", async () => {
    await page.goto(`${app}/account`);
    const me = page.getByRole("region", { name: "GET /api/me" });
    await expect(me).toContainText(username);
    await expect(me).toContainText("user");
  });

  await test.step("logging out ends the session at latchkey", async () => {
    await page.getByRole("button", { name: "Log out" }).click();
    await expect(page).toHaveURL(`${app}/login`);
    await page.goto(`${app}/`);
    await expect(sessionStatus(page)).toHaveText("Not logged in");
  });

  await test.step("after logout a restricted page redirects to the login again", async () => {
    await page.goto(`${app}/account`);
    await expectLoginPage(page, app, "/account");
  });

  await test.step("a wrong password is told as such", async () => {
    await logIn(page, username, "not the password");
    await expect(page.getByRole("alert")).toHaveText("Wrong username or password.");
    await expect(page).toHaveURL(`${app}/login?next=${encodeURIComponent("/account")}`);
    await screenshot(page, "angular-wrong-password");
  });

  await test.step("logging in again returns to the page that asked for it", async () => {
    await logIn(page, username, PASSWORD);
    await expect(page).toHaveURL(`${app}/account`);
    await expect(page.getByRole("region", { name: "GET /api/me" })).toContainText(username);
    await screenshot(page, "angular-account");
    await page.reload();
    await expect(page.getByRole("region", { name: "GET /api/me" })).toContainText(username);
  });
});

test("too many wrong passwords: latchkey's 429 and how long to wait", async ({ page, app, servers }) => {
  const username = uniqueName("ng-throttled");
  const created = await servers.cli(["user", "create", "--username", username], `${PASSWORD}\n`);
  expect(created.code, `user create: ${created.stdout}${created.stderr}`).toBe(0);

  await page.goto(`${app}/login`);
  for (let attempt = 1; attempt <= LOGINS_PER_ACCOUNT; attempt++) {
    await logIn(page, username, `wrong password ${attempt}`);
    await expect(page.getByRole("alert")).toHaveText("Wrong username or password.");
  }
  const answer = page.waitForResponse(`${servers.url}/api/login`);
  // Even the right password waits now: latchkey answers 429 before checking it.
  await logIn(page, username, PASSWORD);
  const response = await answer;
  expect(response.status()).toBe(429);
  const minutes = Math.ceil(Number(response.headers()["retry-after"]) / 60);
  expect(minutes).toBeGreaterThan(0);
  await expect(page.getByRole("alert")).toHaveText(
    `Too many attempts. Try again in ${minutes} ${minutes === 1 ? "minute" : "minutes"}.`,
  );
  await expect(page).toHaveURL(`${app}/login`);
  await screenshot(page, "angular-rate-limited");
});

test("latchkey out of reach: the page says so and restricted pages still need a login", async ({ page, app, servers }) => {
  await page.route(`${servers.url}/**`, (route) => route.abort("connectionrefused"));
  await page.goto(`${app}/members`);
  await expectLoginPage(page, app, "/members");
  await expect(page.getByRole("alert")).toHaveText(
    `latchkey at ${servers.url} cannot be reached. Is it running, and does its cors.allowed_origins list ${app}?`,
  );
  await page.goto(`${app}/`);
  await expect(sessionStatus(page)).toHaveText("Not logged in");
  await screenshot(page, "angular-unreachable");
});

test("an account with an authenticator app logs in on latchkey's page, and the app shares that session", async ({
  page,
  app,
}) => {
  const account = { username: uniqueName("ng-totp"), password: PASSWORD };
  await signUpAtLatchkey(page, account);
  await page.getByRole("link", { name: "Account", exact: true }).click();
  const secret = await enableTotp(page);
  await logOutAtLatchkey(page);

  await page.goto(`${app}/members`);
  await logIn(page, account.username, account.password);
  const secondStep = page.getByRole("alert");
  await expect(secondStep).toContainText("This account asks for a second step (a code or a passkey)");
  await expect(page).toHaveURL(`${app}/login?next=${encodeURIComponent("/members")}`);
  await screenshot(page, "angular-second-step");

  await secondStep.getByRole("link", { name: "log in on latchkey's page" }).click();
  await logInAtLatchkey(page, account);
  // Enabling spent this step's code; the next step's is within the drift latchkey allows.
  await page.getByLabel("Authentication code").fill(totp(secret, currentStep() + 1));
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("heading", { level: 1, name: `Welcome, ${account.username}!` })).toBeVisible();

  await page.goto(`${app}/members`);
  await expect(page.getByText(`Hello, ${account.username}.`)).toBeVisible();
});
