import type { Page } from "@playwright/test";
import { linkIn, type Mailbox } from "../support/mailbox.ts";
import {
  expect,
  logIn,
  logOut,
  requireMailPackages,
  screenshot,
  signUp,
  skipWithoutChromium,
  test,
  uniqueName,
} from "../support/fixtures.ts";

skipWithoutChromium();
requireMailPackages();

// This file's worker runs a latchkey that delivers its mail to a real SMTP server.
test.use({ mail: true });

function delivering(mailbox: Mailbox | null): Mailbox {
  if (!mailbox) throw new Error("no mailbox: this spec needs test.use({ mail: true })");
  return mailbox;
}

/** Fails clearly when the binary under test does not offer mail, instead of missing links later. */
async function expectMailOffered(page: Page): Promise<void> {
  const features = await (await page.request.get("/api/features")).json();
  expect(features, "latchkey configured with [smtp] must answer GET /api/features with email: true").toMatchObject({
    email: true,
  });
}

test("a forgotten password is reset with the mailed link; only the new password works afterwards", async ({
  page,
  mailbox,
}) => {
  const inbox = delivering(mailbox);
  await expectMailOffered(page);
  const account = { username: uniqueName("reset"), password: "copper kettle 1871" };
  const email = `${account.username}@example.com`;
  const newPassword = "silver teapot 1902";

  await signUp(page, account, email);
  await logOut(page);

  await page.getByRole("link", { name: "Forgot password?" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Forgot your password?" })).toBeVisible();
  await page.getByLabel("Username or email").fill(email);
  await screenshot(page, "forgot-password");
  await page.getByRole("button", { name: "Send me a link" }).click();
  await expect(page.getByRole("status").filter({ hasText: "a link to choose a new password is on its way" })).toBeVisible();

  const mail = await inbox.waitFor(email, (m) => m.text.includes("/reset-password#token="));
  expect(mail.text).toContain(`Hello ${account.username},`);
  const link = linkIn(mail, "/reset-password");
  expect(new URL(link).origin).toBe(new URL(page.url()).origin);

  await page.goto(link);
  await expect(page.getByRole("heading", { level: 1, name: "Choose a new password" })).toBeVisible();
  await page.getByLabel("New password", { exact: true }).fill(newPassword);
  await page.getByLabel("Confirm new password").fill(newPassword);
  await screenshot(page, "reset-password");
  await page.getByRole("button", { name: "Set new password" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Your password has been changed" })).toBeVisible();

  await page.getByRole("link", { name: "Log in with your new password" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Log in" })).toBeVisible();
  await logIn(page, account);
  await expect(page.getByRole("alert").filter({ hasText: "Wrong username or password." })).toBeVisible();
  await logIn(page, { ...account, password: newPassword });
  await expect(page.getByRole("heading", { level: 1, name: `Welcome, ${account.username}!` })).toBeVisible();

  // The link works once: opened again, it is refused.
  await page.goto(link);
  await page.getByLabel("New password", { exact: true }).fill("bronze kettle 1930");
  await page.getByLabel("Confirm new password").fill("bronze kettle 1930");
  await page.getByRole("button", { name: "Set new password" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "invalid, has expired or was already used" })).toBeVisible();
});

test("the address given at signup is confirmed by the mailed link", async ({ page, mailbox }) => {
  const inbox = delivering(mailbox);
  await expectMailOffered(page);
  const account = { username: uniqueName("verify"), password: "paper lantern 1799" };
  const email = `${account.username}@example.com`;

  await signUp(page, account, email);
  const banner = page.getByRole("region", { name: "Email confirmation" });
  await expect(banner).toContainText(email);
  await screenshot(page, "verify-banner");

  const mail = await inbox.waitFor(email, (m) => m.text.includes("/verify-email#token="));
  expect(mail.text).toContain(email);
  await page.goto(linkIn(mail, "/verify-email"));
  await expect(page.getByRole("status").filter({ hasText: `Thank you: ${email} is confirmed.` })).toBeVisible();
  await expect(banner).toHaveCount(0);
  await screenshot(page, "verify-email");

  // Confirmed on the server, not only in this page's memory.
  await page.getByRole("link", { name: "Go to your account" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Your account" })).toBeVisible();
  await expect(page.getByText(`${email} (confirmed)`)).toBeVisible();
  await page.reload();
  await expect(page.getByText(`${email} (confirmed)`)).toBeVisible();
  await expect(banner).toHaveCount(0);
});
