import { InjectionToken } from "@angular/core";
import type { LatchkeyClient } from "@latchkey/client";

/** The app's one @latchkey/client, made from /config.json in app.config.ts. */
export const LATCHKEY = new InjectionToken<LatchkeyClient>("LatchkeyClient");
