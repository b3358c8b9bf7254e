import { defineConfig } from "@playwright/test";
import { CHROMIUM } from "./support/chromium.ts";

export default defineConfig({
  testDir: "specs",
  globalSetup: "./support/global-setup.ts",
  // Each worker runs its own latchkey and example server; two fit this machine's two cores.
  workers: 2,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 30_000,
  expect: { timeout: 5_000 },
  reporter: [["list"]],
  outputDir: "test-results",
  use: {
    browserName: "chromium",
    headless: true,
    launchOptions: {
      // Debian's Chromium, never a downloaded browser: the machines reach no browser CDN.
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
  },
});
