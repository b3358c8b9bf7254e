import { expect, type CDPSession, type Locator, type Page } from "@playwright/test";

/**
 * Chromium's virtual authenticator, built into the device like a laptop's
 * fingerprint reader: it keeps discoverable credentials, verifies the user
 * and approves every request without a prompt.
 */
export async function addAuthenticator(page: Page): Promise<{ credentialCount: () => Promise<number> }> {
  const cdp: CDPSession = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    credentialCount: async () => (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials.length,
  };
}

export async function openAccount(page: Page): Promise<Locator> {
  await page.getByRole("link", { name: "Account", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Your account" })).toBeVisible();
  return page.getByRole("region", { name: "Passkeys" });
}

export async function addPasskey(page: Page, name: string): Promise<void> {
  const section = await openAccount(page);
  await section.getByRole("button", { name: "Add a passkey" }).click();
  await section.getByLabel("Passkey name").fill(name);
  await section.getByRole("button", { name: "Create passkey" }).click();
  await expect(section.getByText(`Passkey “${name}” added.`)).toBeVisible();
  await expect(section.getByRole("listitem").filter({ hasText: name })).toContainText("never used");
}
