import { InjectionToken } from "@angular/core";

/** What the app needs to know about latchkey, from `/config.json`. */
export interface ExampleConfig {
  /** latchkey's `public_url`, e.g. `http://localhost:8080` (no trailing slash). */
  latchkeyUrl: string;
}

export const EXAMPLE_CONFIG = new InjectionToken<ExampleConfig>("ExampleConfig");

/**
 * Reads `/config.json`: `{"latchkey_url": "http://localhost:8080"}`. `ng serve` answers
 * it from public/config.json; `examples/serve.mjs --config '{…}'` from its flag.
 * Resolves with the configuration, or a sentence saying what is wrong.
 */
export async function loadConfig(): Promise<ExampleConfig | string> {
  let raw: unknown;
  try {
    const response = await fetch("/config.json", { cache: "no-store" });
    if (!response.ok) return `GET /config.json answered ${response.status}; see README.md for its shape.`;
    raw = await response.json();
  } catch {
    return "/config.json is missing or not JSON; see README.md for its shape.";
  }
  const url = (raw as { latchkey_url?: unknown } | null)?.latchkey_url;
  if (typeof url !== "string" || !/^https?:\/\/[^/]+/.test(url)) {
    return 'config.json needs "latchkey_url": latchkey\'s public_url, e.g. http://localhost:8080.';
  }
  return { latchkeyUrl: url.replace(/\/+$/, "") };
}
