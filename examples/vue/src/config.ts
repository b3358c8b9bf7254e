/**
 * Where latchkey is, read at run time from `/config.json` so one build serves any
 * latchkey: `examples/serve.mjs dist --config '{…}'` answers it from its flag,
 * `npm run dev` serves `public/config.json`.
 */
export interface Config {
  /** latchkey's `public_url`, e.g. `http://127.0.0.1:8080`. */
  latchkey_url: string;
}

export async function loadConfig(): Promise<Config> {
  const response = await fetch("/config.json", { cache: "no-store" });
  if (!response.ok) throw new Error(`/config.json answered ${response.status}`);
  const config: unknown = await response.json();
  if (!config || typeof config !== "object" || !("latchkey_url" in config) || typeof config.latchkey_url !== "string") {
    throw new Error('/config.json must hold {"latchkey_url": "…"}');
  }
  return { latchkey_url: config.latchkey_url };
}
