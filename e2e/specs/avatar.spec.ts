import { expect, signUp, skipWithoutChromium, test, uniqueName } from "../support/fixtures.ts";

skipWithoutChromium();

// A valid 2×2 PNG: the server checks that the bytes really are the declared type.
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGPQjw0AIgYIBQAXmgNxUeD5OQAAAABJRU5ErkJggg==",
  "base64",
);

test("a user previews and uploads an avatar, which then shows in the header", async ({ page }) => {
  const account = { username: uniqueName("pic"), password: "a picture is worth" };
  await signUp(page, account);
  const headerAvatar = page.getByRole("link", { name: `Account of ${account.username}` }).locator("img");
  await expect(headerAvatar).toHaveCount(0);

  await page.goto("/account");
  await page.getByLabel("Choose a picture").setInputFiles({ name: "me.txt", mimeType: "text/plain", buffer: Buffer.from("hello") });
  await page.getByRole("button", { name: "Upload picture" }).click();
  await expect(page.getByLabel("Choose a picture")).toHaveAccessibleDescription(/Choose a PNG, JPEG or GIF image\./);

  await page.getByLabel("Choose a picture").setInputFiles({ name: "me.png", mimeType: "image/png", buffer: PNG });
  await expect(page.getByRole("img", { name: "Preview of the new picture" })).toBeVisible();
  await page.getByRole("button", { name: "Upload picture" }).click();
  await expect(page.getByText("Your new picture is saved.")).toBeVisible();

  await expect(headerAvatar).toHaveJSProperty("naturalWidth", 2);
  await page.reload();
  await expect(headerAvatar).toHaveJSProperty("naturalWidth", 2);
});
