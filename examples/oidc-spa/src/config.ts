/**
 * What the app needs to know about latchkey, read at run time from `/config.json`
 * so one build serves any latchkey: `examples/serve.mjs dist --config '{…}'` answers
 * it from its flag; `npm run dev` serves `public/config.json`.
 */
export interface Config {
  /** latchkey's `public_url`: the issuer, where `/.well-known/openid-configuration` is. */
  authority: string;
  /** What `latchkey client create --public` printed. */
  client_id: string;
  /**
   * Space-separated. latchkey gives a public client a refresh token without
   * `offline_access`; such a token ends when the user logs out of latchkey, which
   * is what an app open in the same browser wants.
   */
  scope: string;
}

const DEFAULT_SCOPE = "openid profile email roles";

/** The configuration, or a sentence saying what is missing. */
export async function loadConfig(): Promise<Config | string> {
  let raw: unknown;
  try {
    const response = await fetch("/config.json", { cache: "no-store" });
    if (!response.ok) return `GET /config.json answered ${response.status}: copy config.example.json to public/config.json (see README.md).`;
    raw = await response.json();
  } catch {
    return "/config.json is missing or not JSON (see README.md).";
  }
  const { authority, client_id, scope } = (raw ?? {}) as Record<string, unknown>;
  if (typeof authority !== "string" || !/^https?:\/\//.test(authority)) {
    return "config.json needs \"authority\": latchkey's public_url, e.g. http://127.0.0.1:8080.";
  }
  if (typeof client_id !== "string" || !/^[A-Za-z0-9_-]+$/.test(client_id)) {
    return "config.json needs \"client_id\": what `latchkey client create --public` printed.";
  }
  return {
    authority: authority.replace(/\/+$/, ""),
    client_id,
    scope: typeof scope === "string" && scope.trim() ? scope.trim() : DEFAULT_SCOPE,
  };
}
