// The OpenID Connect journeys' relying party: examples/oidc-spa, built with Vite (here,
// when dist/ is missing or older than its sources), served by examples/serve.mjs on a
// free port of 127.0.0.1 (another site than latchkey's `localhost`), and registered
// with the worker's latchkey as the public client "Example SPA".

import type { Page, Response } from "@playwright/test";
import { buildExample, serveExample } from "./examples.ts";
import { test as base } from "./fixtures.ts";
import { freePort } from "./latchkey.ts";

export const SPA_NAME = "Example SPA";

export interface Spa {
  /** The app's origin, e.g. `http://127.0.0.1:41234` (no trailing slash). */
  url: string;
  /** The client_id latchkey gave it. */
  clientId: string;
}

export const test = base.extend<object, { spa: Spa }>({
  spa: [
    async ({ servers }, use) => {
      await buildExample("oidc-spa");
      // The port is chosen first: the redirect URIs are registered exactly as the app sends them.
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const created = await servers.cli([
        "client",
        "create",
        "--name",
        SPA_NAME,
        "--public",
        "--redirect-uri",
        `${url}/callback`,
        "--post-logout-redirect-uri",
        `${url}/`,
        "--json",
      ]);
      if (created.code !== 0) {
        throw new Error(`latchkey client create failed (${created.code}):\n${created.stdout}${created.stderr}`);
      }
      const client = JSON.parse(created.stdout) as { client_id?: string; client_secret?: string };
      if (!client.client_id) throw new Error(`latchkey client create --json printed no client_id:\n${created.stdout}`);
      if (client.client_secret) throw new Error("latchkey client create --public printed a client_secret");

      const served = await serveExample("oidc-spa", {
        port,
        config: { authority: servers.url, client_id: client.client_id },
      });
      try {
        await use({ url: served.url, clientId: client.client_id });
      } finally {
        await served.stop();
      }
    },
    // A first `npm ci` in examples/oidc-spa takes a while.
    { scope: "worker", timeout: 180_000 },
  ],
});

/** One `POST /oauth2/token` the page made, with latchkey's answer. */
export interface TokenCall {
  grantType: string | null;
  /** The refresh token sent (refresh_token grant). */
  refreshTokenSent: string | null;
  status: number;
  body: { access_token?: string; refresh_token?: string; id_token?: string; error?: string; [key: string]: unknown } | null;
}

/**
 * Records every token request the page makes to latchkey from now on. A call is
 * added once its answer has been read, so wait with `expect.poll(() => calls.length)`.
 */
export function recordTokenCalls(page: Page, latchkeyUrl: string): TokenCall[] {
  const calls: TokenCall[] = [];
  const tokenUrl = `${latchkeyUrl}/oauth2/token`;
  page.on("response", (response: Response) => {
    const request = response.request();
    if (request.method() !== "POST" || response.url() !== tokenUrl) return;
    const form = new URLSearchParams(request.postData() ?? "");
    void response
      .json()
      .catch(() => null)
      .then((body: TokenCall["body"]) =>
        calls.push({ grantType: form.get("grant_type"), refreshTokenSent: form.get("refresh_token"), status: response.status(), body }),
      );
  });
  return calls;
}

/** A claim as the app shows it in its "ID token claims" table. */
export function claim(page: Page, name: string) {
  return page
    .getByRole("region", { name: "ID token claims" })
    .getByRole("row")
    .filter({ has: page.getByRole("rowheader", { name, exact: true }) })
    .getByRole("cell");
}

