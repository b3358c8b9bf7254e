import { expect, logIn, logOut, screenshot, signUp, skipWithoutChromium, test, uniqueName } from "../support/fixtures.ts";
import { addAuthenticator, addPasskey, openAccount } from "../support/passkeys.ts";
import { enableTotp } from "../support/totp.ts";

skipWithoutChromium();

test("a passkey added on the account page logs in without a username", async ({ page }) => {
  const authenticator = await addAuthenticator(page);
  const account = { username: uniqueName("passkey"), password: "granite heron 1911" };
  await signUp(page, account);

  await addPasskey(page, "Laptop");
  expect(await authenticator.credentialCount()).toBe(1);
  await screenshot(page, "passkeys");

  await logOut(page);
  await screenshot(page, "login-passkey");
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
  await expect(page.getByRole("heading", { level: 1, name: `Welcome, ${account.username}!` })).toBeVisible();

  // The login is a real session, and the passkey shows that it was used.
  await page.reload();
  await expect(page.getByRole("heading", { level: 1, name: `Welcome, ${account.username}!` })).toBeVisible();
  const section = await openAccount(page);
  await expect(section.getByRole("listitem").filter({ hasText: "Laptop" })).toContainText("last used");
});

test("with an authenticator app and a passkey, the passkey can be the second step", async ({ page }) => {
  await addAuthenticator(page);
  const account = { username: uniqueName("pk2fa"), password: "willow compass 1887" };
  await signUp(page, account);
  await openAccount(page);
  await enableTotp(page);
  await addPasskey(page, "Laptop");

  await logOut(page);
  await logIn(page, account);
  await expect(page.getByRole("heading", { level: 1, name: "Two-step verification" })).toBeVisible();
  await expect(page.getByLabel("Authentication code")).toBeVisible();
  await screenshot(page, "second-step-passkey");
  await page.getByRole("button", { name: "Use a passkey" }).click();
  await expect(page.getByRole("heading", { level: 1, name: `Welcome, ${account.username}!` })).toBeVisible();
});

test("a removed passkey is gone from the list and no longer logs in", async ({ page }) => {
  const authenticator = await addAuthenticator(page);
  const account = { username: uniqueName("pkgone"), password: "marble finch 1933" };
  await signUp(page, account);
  await addPasskey(page, "Laptop");

  const section = page.getByRole("region", { name: "Passkeys" });
  await section.getByRole("button", { name: "Remove passkey Laptop" }).click();
  await section.getByRole("button", { name: "Remove", exact: true }).click();
  await expect(section.getByText(/Passkey “Laptop” removed/)).toBeVisible();
  await expect(section.getByRole("listitem")).toHaveCount(0);
  await expect(section.getByText("No passkeys yet.")).toBeVisible();
  await page.reload();
  await expect(page.getByRole("region", { name: "Passkeys" }).getByText("No passkeys yet.")).toBeVisible();

  // The device still holds the credential, so it is the server that refuses it.
  expect(await authenticator.credentialCount()).toBe(1);
  await logOut(page);
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "That passkey is not accepted here." })).toBeVisible();
  await screenshot(page, "login-passkey-removed");
  await expect(page.getByRole("heading", { level: 1, name: "Log in" })).toBeVisible();

  // The password still works.
  await logIn(page, account);
  await expect(page.getByRole("heading", { level: 1, name: `Welcome, ${account.username}!` })).toBeVisible();
});
