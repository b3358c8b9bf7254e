import { existsSync } from "node:fs";
import { CHROMIUM, hasChromium, NO_CHROMIUM } from "./chromium.ts";
import { latchkeyBinary } from "./latchkey.ts";

/** Fails early, before any worker starts, when something the journeys need is missing. */
export default function globalSetup() {
  if (!hasChromium) {
    if (process.env.CI === "true") throw new Error(NO_CHROMIUM);
    const bar = "!".repeat(78);
    console.warn(`\n${bar}\n!! SKIPPING every browser journey: ${NO_CHROMIUM}\n${bar}\n`);
    return;
  }
  const binary = latchkeyBinary();
  if (!existsSync(binary)) {
    throw new Error(
      `latchkey binary not found at ${binary}. Build it (cargo build --release) or set LATCHKEY_BIN to its path.`,
    );
  }
  console.log(`latchkey: ${binary}\nchromium: ${CHROMIUM}`);
}
