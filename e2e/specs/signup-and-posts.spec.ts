import { expect, logIn, screenshot, signUp, skipWithoutChromium, test, uniqueName } from "../support/fixtures.ts";

skipWithoutChromium();

test("a new user signs up, stays logged in, posts, logs out and back in", async ({ page }) => {
  const account = { username: uniqueName("grace"), password: "analytical engine 1843" };

  await page.goto("/signup");
  await expect(page).toHaveTitle("Sign up · latchkey");
  await screenshot(page, "signup");
  await signUp(page, account);
  await expect(page).toHaveURL(/\/$/);

  await page.reload();
  await expect(page.getByRole("heading", { level: 1, name: `Welcome, ${account.username}!` })).toBeVisible();

  const text = `Notes on the engine, written at ${new Date().toISOString()}`;
  await page.getByLabel("Write a post").fill(text);
  await page.getByRole("button", { name: "Post", exact: true }).click();
  const post = page.getByRole("listitem").filter({ hasText: text });
  await expect(post).toBeVisible();
  await expect(page.getByLabel("Write a post")).toHaveValue("");
  await page.reload();
  await expect(post).toBeVisible();
  await screenshot(page, "home");

  await post.getByRole("button", { name: `Delete post by ${account.username}` }).click();
  await post.getByRole("button", { name: "Delete" }).click();
  await expect(post).toHaveCount(0);
  await page.reload();
  await expect(page.getByRole("heading", { name: "Latest posts" })).toBeVisible();
  await expect(page.getByText(text)).toHaveCount(0);

  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Log in" })).toBeVisible();
  await page.goto("/");
  await expect(page).toHaveURL(/\/login$/);
  await screenshot(page, "login");

  await logIn(page, { ...account, password: "not the password" });
  await expect(page.getByRole("alert").filter({ hasText: "Wrong username or password." })).toBeVisible();
  await expect(page).toHaveURL(/\/login$/);
  await screenshot(page, "login-error");

  await logIn(page, account);
  await expect(page.getByRole("heading", { level: 1, name: `Welcome, ${account.username}!` })).toBeVisible();
});

test("the login, home and not-found pages on a phone-sized screen", async ({ browser, baseURL }) => {
  const account = { username: uniqueName("phone"), password: "small screens matter" };
  const context = await browser.newContext({ baseURL, viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const page = await context.newPage();

  await page.goto("/login");
  await expect(page.getByRole("button", { name: "Log in" })).toBeVisible();
  await screenshot(page, "phone-login");

  await signUp(page, account);
  await page.getByLabel("Write a post").fill("Typed on a phone.");
  await page.getByRole("button", { name: "Post", exact: true }).click();
  await expect(page.getByRole("listitem").filter({ hasText: "Typed on a phone." })).toBeVisible();
  // Nothing may stick out sideways at 375 px.
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
  await screenshot(page, "phone-home");

  await page.goto("/no/such/page");
  await expect(page.getByRole("heading", { level: 1, name: "Page not found" })).toBeVisible();
  await expect(page).toHaveTitle("Page not found · latchkey");
  await context.close();
});
