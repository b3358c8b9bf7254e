import { expect, screenshot, skipWithoutChromium, test, uniqueName } from "../support/fixtures.ts";

skipWithoutChromium();

test("an SPA on another origin logs in with credentials: include and reads check_session", async ({ page, servers }) => {
  const account = { username: uniqueName("origin"), password: "cookies across ports" };
  // Set up through the API directly: this journey is about the other page.
  const created = await page.request.post(`${servers.url}/api/signup`, {
    data: { username: account.username, password: account.password, password_confirmation: account.password },
  });
  expect(created.status()).toBe(201);
  await page.context().clearCookies();

  await page.goto(`${servers.exampleUrl}/?api=${encodeURIComponent(servers.url)}`);
  const status = page.locator("#status");
  await expect(status).toHaveText("Not logged in");

  await page.getByLabel("Username or email").fill(account.username);
  await page.getByLabel("Password").fill(account.password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(status).toHaveText(`Logged in as ${account.username}`);
  await expect(page.locator("#user")).toContainText(`"username": "${account.username}"`);
  await screenshot(page, "cross-origin");

  // The same cookie serves latchkey's own pages on its origin.
  await page.goto(servers.url);
  await expect(page.getByRole("heading", { level: 1, name: `Welcome, ${account.username}!` })).toBeVisible();

  await page.goto(`${servers.exampleUrl}/?api=${encodeURIComponent(servers.url)}`);
  await expect(status).toHaveText(`Logged in as ${account.username}`);
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(status).toHaveText("Not logged in");
});
