import { expect, screenshot, signUp, skipWithoutChromium, test, uniqueName } from "../support/fixtures.ts";
import { addAuthenticator, openAccount } from "../support/passkeys.ts";

skipWithoutChromium();

// A short window, so the signup's login is soon too old to change the ways of logging in.
test.use({ serverConfig: '[security]\nstep_up_window = "2s"' });

test("adding a passkey asks for the password in place, removing it can be confirmed with a passkey", async ({ page }) => {
  await addAuthenticator(page);
  const account = { username: uniqueName("pkstep"), password: "amber lighthouse 1874" };
  await signUp(page, account);
  const section = await openAccount(page);
  const confirmPassword = async () => {
    const prompt = section.getByRole("form", { name: "Confirm it is you" });
    await expect(prompt).toBeVisible();
    await prompt.getByLabel("Your password").fill(account.password);
    await prompt.getByRole("button", { name: "Confirm" }).click();
  };

  // The server counts whole seconds: 3.5 s on, the signup's login is older than the 2 s window.
  await page.waitForTimeout(3_500);
  await section.getByRole("button", { name: "Add a passkey" }).click();
  await section.getByLabel("Passkey name").fill("Laptop");
  await section.getByRole("button", { name: "Create passkey" }).click();
  await screenshot(page, "passkey-reauth");
  await confirmPassword();
  await expect(section.getByText("Passkey “Laptop” added.")).toBeVisible();
  await expect(section.getByRole("listitem").filter({ hasText: "Laptop" })).toBeVisible();

  await page.waitForTimeout(3_500);
  await section.getByRole("button", { name: "Remove passkey Laptop" }).click();
  await section.getByRole("button", { name: "Remove", exact: true }).click();
  // The account has a passkey now: the prompt offers it instead of the password.
  const prompt = section.getByRole("form", { name: "Confirm it is you" });
  await prompt.getByRole("button", { name: "Use a passkey instead" }).click();
  await expect(section.getByText(/Passkey “Laptop” removed/)).toBeVisible();
  await expect(section.getByRole("listitem")).toHaveCount(0);
});
