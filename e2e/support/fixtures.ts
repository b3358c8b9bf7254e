import { test as base, expect, type Page } from "@playwright/test";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { hasChromium, NO_CHROMIUM } from "./chromium.ts";
import { startServers, type Servers } from "./latchkey.ts";
import { missingMailPackages, startMailbox, type Mailbox } from "./mailbox.ts";

export { expect };

const SCREENSHOTS = resolve(import.meta.dirname, "../screenshots");

interface Account {
  username: string;
  password: string;
}

interface WorkerFixtures {
  /** Set with `test.use({ mail: true })`: latchkey then sends its mail to `mailbox`. */
  mail: boolean;
  /** The SMTP server latchkey delivers to; null unless the spec asked for `mail`. */
  mailbox: Mailbox | null;
  /** Set with `test.use({ serverConfig: "…" })`: TOML added to this worker's latchkey configuration. */
  serverConfig: string;
  servers: Servers;
  admin: Account;
}

export const test = base.extend<object, WorkerFixtures>({
  mail: [false, { scope: "worker", option: true }],
  serverConfig: ["", { scope: "worker", option: true }],
  mailbox: [
    async ({ mail }, use) => {
      if (!mail) return use(null);
      const mailbox = await startMailbox();
      await use(mailbox);
      await mailbox.stop();
    },
    { scope: "worker" },
  ],
  servers: [
    async ({ mailbox, serverConfig }, use, workerInfo) => {
      const servers = await startServers(`worker-${workerInfo.workerIndex}`, {
        smtpUrl: mailbox?.url,
        extraConfig: serverConfig,
      });
      await use(servers);
      await servers.stop();
    },
    { scope: "worker" },
  ],
  baseURL: async ({ servers }, use) => use(servers.url),
  admin: [
    async ({ servers }, use) => {
      const admin = { username: "admin", password: "admin-password-e2e" };
      const created = await servers.cli(["user", "create", "--username", admin.username, "--admin"], `${admin.password}\n`);
      if (created.code !== 0) {
        throw new Error(`latchkey user create failed (${created.code}):\n${created.stdout}${created.stderr}`);
      }
      await use(admin);
    },
    { scope: "worker" },
  ],
});

/**
 * Call at the top of every spec file: a skip declared there is decided before
 * any fixture runs, so a machine without Chromium neither starts servers nor
 * tries to launch a browser.
 */
export function skipWithoutChromium(): void {
  test.skip(!hasChromium, NO_CHROMIUM);
}

/**
 * For specs that read latchkey's mail: skipped with a warning when the mail
 * packages are not installed, but failed under `CI=true`, where a journey
 * that did not run must not look like one that passed.
 */
export function requireMailPackages(): void {
  const missing = missingMailPackages();
  if (missing.length === 0) return;
  const problem = `${missing.join(" and ")} missing: run \`npm ci\` in e2e/. The mail journeys did NOT run.`;
  if (process.env.CI === "true") throw new Error(problem);
  console.warn(`\n!! SKIPPING: ${problem}\n`);
  test.skip(true, problem);
}

/** A username no other test in this run uses, within the 32-character limit. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`.slice(0, 32);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  // Fonts and images settle after the content the test waited for.
  await page.evaluate(() => document.fonts.ready);
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

export async function signUp(page: Page, account: Account, email?: string): Promise<void> {
  await page.goto("/signup");
  await page.getByLabel("Username").fill(account.username);
  if (email) await page.getByLabel("Email (optional)").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(account.password);
  await page.getByLabel("Confirm password").fill(account.password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("heading", { level: 1, name: `Welcome, ${account.username}!` })).toBeVisible();
}

export async function logOut(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Log in" })).toBeVisible();
}

export async function logIn(page: Page, account: Account): Promise<void> {
  if (!page.url().includes("/login")) await page.goto("/login");
  await page.getByLabel("Username or email").fill(account.username);
  await page.getByLabel("Password").fill(account.password);
  await page.getByRole("button", { name: "Log in" }).click();
}
