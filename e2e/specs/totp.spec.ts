import { expect, logIn, logOut, screenshot, signUp, skipWithoutChromium, test, uniqueName } from "../support/fixtures.ts";
import { currentStep, totp } from "../support/totp.ts";

skipWithoutChromium();

test("an authenticator app is enrolled with its QR code, then asked for at login; recovery codes work once", async ({
  page,
}) => {
  const account = { username: uniqueName("totp"), password: "orchid lantern 1843" };
  await signUp(page, account);

  await page.getByRole("link", { name: "Account", exact: true }).click();
  const security = page.getByRole("region", { name: "Two-step verification" });
  await security.getByRole("button", { name: "Set up authenticator app" }).click();
  await expect(security.getByRole("img", { name: "QR code for your authenticator app" })).toBeVisible();
  const secret = (await security.getByTestId("totp-secret").textContent())!.trim();
  const enrolledAt = currentStep();
  await security.getByLabel("Code from the app").fill(totp(secret, enrolledAt));
  await security.getByRole("button", { name: "Turn on" }).click();

  const codes = security.getByRole("listitem");
  await expect(codes).toHaveCount(10);
  const recoveryCodes = (await codes.allTextContents()).map((c) => c.trim());
  await screenshot(page, "recovery-codes");
  await security.getByRole("button", { name: "I have saved them" }).click();
  await expect(security.getByText("Authenticator app: on.")).toBeVisible();
  await expect(security.getByText("10 recovery codes left.")).toBeVisible();

  // The password alone no longer logs in: the second step asks for a code.
  await logOut(page);
  await logIn(page, account);
  await expect(page.getByRole("heading", { level: 1, name: "Two-step verification" })).toBeVisible();
  // The enrolment spent this step's code; the next step's is within the drift allowed.
  await page.getByLabel("Authentication code").fill(totp(secret, Math.max(enrolledAt, currentStep()) + 1));
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("heading", { level: 1, name: `Welcome, ${account.username}!` })).toBeVisible();

  // A recovery code instead of the app; the same code a second time is refused.
  for (const attempt of ["first", "again"]) {
    await logOut(page);
    await logIn(page, account);
    await page.getByRole("button", { name: "Use a recovery code instead" }).click();
    await page.getByLabel("Recovery code").fill(recoveryCodes[0]!);
    await page.getByRole("button", { name: "Verify" }).click();
    if (attempt === "first") {
      await expect(page.getByRole("heading", { level: 1, name: `Welcome, ${account.username}!` })).toBeVisible();
    } else {
      await expect(page.getByRole("alert").filter({ hasText: "That code is not valid." })).toBeVisible();
    }
  }
  await page.getByLabel("Recovery code").fill(recoveryCodes[1]!);
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("heading", { level: 1, name: `Welcome, ${account.username}!` })).toBeVisible();
});
