import { screenshot, skipWithoutChromium } from "../support/fixtures.ts";
import {
  expect,
  person,
  PROVIDERS,
  requireUpstreamPackages,
  signInAtGitHub,
  signInAtTestProvider,
  test,
} from "../support/federation.ts";

skipWithoutChromium();
requireUpstreamPackages();

// A short window, so the provider login is soon too old to change the ways of logging in.
test.use({ serverConfig: '[security]\nstep_up_window = "3s"' });

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
