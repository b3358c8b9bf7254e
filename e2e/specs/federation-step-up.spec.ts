import { requireMailPackages, screenshot, skipWithoutChromium } from "../support/fixtures.ts";
import {
  expect,
  person,
  PROVIDERS,
  requireUpstreamPackages,
  signInAtGitHub,
  signInAtTestProvider,
  test,
} from "../support/federation.ts";
import { linkIn } from "../support/mailbox.ts";

skipWithoutChromium();
requireUpstreamPackages();
requireMailPackages();

// A short window, so the provider login is soon too old to change the ways of logging in;
// mail, so the account page offers to change the address.
test.use({ serverConfig: '[security]\nstep_up_window = "3s"', mail: true });

const TEST = PROVIDERS.oidc.label;
const GITHUB = PROVIDERS.github.label;

test("an account without a password confirms at its provider, then the change goes through", async ({
  page,
  upstreams,
}) => {
  const dora = person("fedstep");
  await upstreams.oidc.addAccounts([dora.oidc]);
  await upstreams.github.addAccounts([dora.github]);

  await page.goto("/login?next=%2Faccount");
  await page.getByRole("link", { name: `Continue with ${TEST}` }).click();
  await signInAtTestProvider(page, dora.oidc.sub);
  await expect(page.getByRole("heading", { level: 1, name: "Your account" })).toBeVisible();
  const section = page.getByRole("region", { name: "Connected accounts" });
  await expect(section.getByRole("list", { name: "Connected accounts" })).toContainText(TEST);

  // The server counts whole seconds: 4.5 s on, the login is older than the 3 s window.
  await page.waitForTimeout(4_500);
  await section.getByRole("button", { name: `Connect ${GITHUB}` }).click();
  const prompt = section.getByRole("group", { name: "Confirm it is you" });
  await expect(prompt).toContainText(`log in again with ${TEST}`);
  await expect(prompt.getByLabel("Your password")).toHaveCount(0);
  await screenshot(page, "federation-step-up-prompt");
  await prompt.getByRole("button", { name: `Confirm with ${TEST}` }).click();

  // prompt=login: the provider asks again even though it knows this browser.
  await signInAtTestProvider(page, dora.oidc.sub);
  // Back on the account page, the interrupted connect goes on by itself to GitHub.
  await expect(page).toHaveURL(new RegExp(`^${upstreams.github.url}/`));
  await signInAtGitHub(page, dora.github.login);
  await expect(page.getByText(`Connected ${GITHUB}.`)).toBeVisible();
  await expect(section.getByRole("list", { name: "Connected accounts" }).getByRole("listitem")).toHaveCount(2);
});

test("an account without a password changes its address with the new one alone, confirming at its provider", async ({
  page,
  upstreams,
  mailbox,
}) => {
  const fay = person("fedmail");
  await upstreams.oidc.addAccounts([fay.oidc]);

  await page.goto("/login?next=%2Faccount");
  await page.getByRole("link", { name: `Continue with ${TEST}` }).click();
  await signInAtTestProvider(page, fay.oidc.sub);
  await expect(page.getByRole("region", { name: "Password" })).toContainText("Your account has no password yet");
  const email = page.getByRole("region", { name: "Change email address" });
  // No password to type, and no word of setting one first.
  await expect(email.getByLabel("New email address")).toBeVisible();
  await expect(email.getByLabel("Current password")).toHaveCount(0);
  await expect(email).not.toContainText("password");

  // The server counts whole seconds: 4.5 s on, the login is older than the 3 s window.
  await page.waitForTimeout(4_500);
  const newAddress = `new-${fay.email}`;
  await email.getByLabel("New email address").fill(newAddress);
  await email.getByRole("button", { name: "Change email address" }).click();
  const prompt = email.getByRole("group", { name: "Confirm it is you" });
  await expect(prompt).toContainText(`log in again with ${TEST}`);
  await screenshot(page, "federation-step-up-email");
  await prompt.getByRole("button", { name: `Confirm with ${TEST}` }).click();

  await signInAtTestProvider(page, fay.oidc.sub);
  // Back on the account page, the address goes again by itself.
  await expect(email.getByText(`We sent a link to ${newAddress}.`, { exact: false })).toBeVisible();
  expect(new URL(page.url()).pathname).toBe("/account");

  if (!mailbox) throw new Error("no mailbox: this spec needs test.use({ mail: true })");
  const mail = await mailbox.waitFor(newAddress, (m) => m.text.includes("/verify-email#token="));
  await page.goto(linkIn(mail, "/verify-email"));
  await expect(page.getByRole("status").filter({ hasText: `Thank you: ${newAddress} is confirmed.` })).toBeVisible();
});
