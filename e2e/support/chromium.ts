import { existsSync } from "node:fs";

export const CHROMIUM = "/usr/bin/chromium";
export const hasChromium = existsSync(CHROMIUM);
export const NO_CHROMIUM = `${CHROMIUM} is missing: install it with \`apt-get install -y chromium\`. The browser journeys did NOT run.`;
