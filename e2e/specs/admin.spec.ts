import { expect, logIn, screenshot, signUp, skipWithoutChromium, test, uniqueName } from "../support/fixtures.ts";

skipWithoutChromium();

test("a non-admin cannot reach /admin; the admin promotes them and reads the audit log", async ({ browser, baseURL, admin }) => {
  const account = { username: uniqueName("lin"), password: "not an admin yet" };
  const userContext = await browser.newContext({ baseURL });
  const adminContext = await browser.newContext({ baseURL });
  const asUser = await userContext.newPage();
  const asAdmin = await adminContext.newPage();

  await signUp(asUser, account);
  await expect(asUser.getByRole("link", { name: "Admin", exact: true })).toHaveCount(0);
  await asUser.goto("/admin/users");
  await expect(asUser.getByRole("heading", { level: 1, name: "Not allowed" })).toBeVisible();
  await expect(asUser.getByRole("table")).toHaveCount(0);

  await logIn(asAdmin, admin);
  await expect(asAdmin.getByRole("heading", { level: 1, name: `Welcome, ${admin.username}!` })).toBeVisible();
  await asAdmin.getByRole("link", { name: "Admin", exact: true }).click();
  await expect(asAdmin).toHaveURL(/\/admin\/users$/);
  // The only admin cannot drop their own admin role.
  await asAdmin.getByRole("button", { name: `Edit roles of ${admin.username}` }).click();
  const ownRoles = asAdmin.getByRole("form", { name: `Roles of ${admin.username}` });
  await ownRoles.getByLabel("Administrator").uncheck();
  await ownRoles.getByRole("button", { name: "Save roles" }).click();
  await expect(ownRoles.getByRole("alert")).toHaveText("That would leave no administrator. Make someone else an admin first.");
  await ownRoles.getByRole("button", { name: "Cancel" }).click();

  const row = asAdmin.getByRole("row").filter({ hasText: account.username });
  await expect(row).toBeVisible();
  await expect(row.getByText("admin", { exact: true })).toHaveCount(0);

  await row.getByRole("button", { name: `Edit roles of ${account.username}` }).click();
  const editor = asAdmin.getByRole("form", { name: `Roles of ${account.username}` });
  await editor.getByLabel("Administrator").check();
  await editor.getByLabel("Other roles").fill("editor");
  await editor.getByRole("button", { name: "Save roles" }).click();
  await expect(asAdmin.getByText(`Roles of ${account.username} saved.`)).toBeVisible();
  await expect(row.getByText("admin", { exact: true })).toBeVisible();
  await expect(row.getByText("editor", { exact: true })).toBeVisible();
  await screenshot(asAdmin, "admin-users");

  await asAdmin.getByRole("link", { name: "Audit log" }).click();
  await expect(asAdmin.getByRole("heading", { level: 1, name: "Administration" })).toBeVisible();
  const rolesChanged = asAdmin.getByRole("row").filter({ hasText: "Roles changed" }).first();
  await expect(rolesChanged).toBeVisible();
  await expect(rolesChanged).toContainText(account.username);
  await screenshot(asAdmin, "admin-audit");

  // The new role counts on the user's next page load.
  await asUser.reload();
  await expect(asUser.getByRole("heading", { level: 1, name: "Administration" })).toBeVisible();
  await expect(asUser.getByRole("link", { name: "Admin", exact: true })).toBeVisible();

  await asAdmin.goto("/no/such/page");
  await expect(asAdmin.getByRole("heading", { level: 1, name: "Page not found" })).toBeVisible();
  await screenshot(asAdmin, "not-found");

  await userContext.close();
  await adminContext.close();
});
