import { expect, logIn, screenshot, signUp, skipWithoutChromium, test, uniqueName } from "../support/fixtures.ts";

skipWithoutChromium();

test("changing the password in one browser signs the other one out", async ({ browser, baseURL }) => {
  const account = { username: uniqueName("ada"), password: "first password 1815" };
  const newPassword = "second password 1852";
  const laptop = await browser.newContext({ baseURL });
  const phone = await browser.newContext({ baseURL });
  const onLaptop = await laptop.newPage();
  const onPhone = await phone.newPage();

  await signUp(onLaptop, account);
  await logIn(onPhone, account);
  await expect(onPhone.getByRole("heading", { level: 1, name: `Welcome, ${account.username}!` })).toBeVisible();

  await onLaptop.getByRole("link", { name: "Account", exact: true }).click();
  await expect(onLaptop.getByRole("heading", { level: 1, name: "Your account" })).toBeVisible();
  const sessions = onLaptop.getByRole("region", { name: "Where you are signed in" });
  await expect(sessions.getByRole("listitem")).toHaveCount(2);
  await expect(sessions.getByText("This device")).toHaveCount(1);
  await expect(sessions.getByRole("listitem").first()).toContainText("Chrome on Linux");

  await onLaptop.getByLabel("Current password").fill(account.password);
  await onLaptop.getByLabel("New password", { exact: true }).fill(newPassword);
  await onLaptop.getByLabel("Confirm new password").fill(newPassword);
  await onLaptop.getByRole("button", { name: "Change password" }).click();
  await expect(onLaptop.getByText("Password changed. Every other session and app has been signed out.")).toBeVisible();
  await expect(sessions.getByRole("listitem")).toHaveCount(1);
  await screenshot(onLaptop, "account");

  // The phone's next navigation finds its session gone.
  await onPhone.goto("/account");
  await expect(onPhone).toHaveURL(/\/login\?next=%2Faccount$/);
  await expect(onPhone.getByRole("heading", { level: 1, name: "Log in" })).toBeVisible();

  // The browser that changed it stays logged in.
  await onLaptop.reload();
  await expect(onLaptop.getByRole("heading", { level: 1, name: "Your account" })).toBeVisible();

  await logIn(onPhone, account);
  await expect(onPhone.getByRole("alert").filter({ hasText: "Wrong username or password." })).toBeVisible();
  await logIn(onPhone, { ...account, password: newPassword });
  await expect(onPhone.getByRole("heading", { level: 1, name: "Your account" })).toBeVisible();

  await laptop.close();
  await phone.close();
});

test("an app's token login is listed beside the browser and signed out with the other sessions", async ({ page, request }) => {
  const account = { username: uniqueName("cli"), password: "tokens for the terminal" };
  await signUp(page, account);

  // A CLI logs in with the password and holds tokens, not a cookie.
  const login = await request.post("/api/token", {
    data: account,
    headers: { "User-Agent": "latchkey-cli/1.0" },
  });
  expect(login.status()).toBe(200);
  const { refresh_token } = (await login.json()) as { refresh_token: string };

  await page.getByRole("link", { name: "Account", exact: true }).click();
  const sessions = page.getByRole("region", { name: "Where you are signed in" });
  await expect(sessions.getByRole("listitem")).toHaveCount(2);
  await expect(sessions.getByRole("listitem").filter({ hasText: "App or API login (tokens)" })).toContainText("latchkey-cli");
  await expect(sessions.getByRole("listitem").filter({ hasText: "This device" })).toContainText("Browser session");

  await sessions.getByRole("button", { name: "Sign out all other sessions and apps" }).click();
  await sessions.getByRole("button", { name: "Sign out", exact: true }).click();
  await expect(page.getByText("Every other session and app has been signed out.")).toBeVisible();
  await expect(sessions.getByRole("listitem")).toHaveCount(1);
  await expect(sessions.getByText("App or API login (tokens)")).toHaveCount(0);

  // The app can no longer renew its access.
  const refreshed = await request.post("/api/token/refresh", { data: { refresh_token }, headers: { "User-Agent": "latchkey-cli/1.0" } });
  expect(refreshed.status()).toBe(401);
});
