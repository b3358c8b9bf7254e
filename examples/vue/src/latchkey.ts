import { createClient, type LatchkeyClient } from "@latchkey/client";
import type { Config } from "./config";

let client: LatchkeyClient | null = null;

/**
 * Token mode: latchkey answers a login with a short-lived access token (kept in this
 * tab's memory only) and a refresh token (in IndexedDB, so a reload and the other
 * tabs of this app stay logged in). The client renews the access token before it
 * expires, one refresh for all tabs at a time.
 */
export function startLatchkey(config: Config): LatchkeyClient {
  client = createClient({ baseUrl: config.latchkey_url, mode: "token", storageKey: "latchkey-surveys" });
  return client;
}

/** The client made by startLatchkey() when the app started. */
export function latchkey(): LatchkeyClient {
  if (!client) throw new Error("startLatchkey() was not called");
  return client;
}
