// The OpenID Connect journeys' relying party: examples/oidc-spa, built with Vite (here,
// when dist/ is missing or older than its sources), served by its own serve.mjs on a
// free port of 127.0.0.1 (another site than latchkey's `localhost`), and registered
// with the worker's latchkey as the public client "Example SPA".

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Page, Response } from "@playwright/test";
import { test as base } from "./fixtures.ts";
import { freePort } from "./latchkey.ts";

const SPA_DIR = resolve(import.meta.dirname, "../../examples/oidc-spa");

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
      await buildSpa();
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

      const child = spawn(
        process.execPath,
        [join(SPA_DIR, "serve.mjs"), "--port", String(port), "--authority", servers.url, "--client-id", client.client_id],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      try {
        await firstLine(child);
        await use({ url, clientId: client.client_id });
      } finally {
        await stopProcess(child);
      }
    },
    // A first `npm ci` in examples/oidc-spa takes a while.
    { scope: "worker", timeout: 180_000 },
  ],
});

/** `npm ci` when node_modules is missing, `npm run build` when dist/ is missing or older than the sources. */
async function buildSpa(): Promise<void> {
  const installed = join(SPA_DIR, "node_modules/.package-lock.json");
  if (!existsSync(installed) || mtime(installed) < mtime(join(SPA_DIR, "package-lock.json"))) {
    await npm(["ci", "--no-audit", "--no-fund"]);
  }
  const built = join(SPA_DIR, "dist/index.html");
  const sources = ["index.html", "package-lock.json", "vite.config.ts", "tsconfig.json", "src"].map((p) => join(SPA_DIR, p));
  if (!existsSync(built) || mtime(built) < Math.max(...sources.map(newest))) {
    await npm(["run", "build"]);
  }
}

function mtime(path: string): number {
  return statSync(path).mtimeMs;
}

/** The newest modification time in a file or a folder's tree. */
function newest(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))));
}

function npm(args: string[]): Promise<void> {
  return new Promise((resolveRun, reject) => {
    const child = spawn("npm", args, { cwd: SPA_DIR, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) =>
      code === 0 ? resolveRun() : reject(new Error(`npm ${args.join(" ")} in examples/oidc-spa failed (${code}):\n${output}`)),
    );
  });
}

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


function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolveLine, reject) => {
    let buffer = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      const newline = buffer.indexOf("\n");
      if (newline >= 0) resolveLine(buffer.slice(0, newline));
    });
    child.once("exit", (code) => reject(new Error(`examples/oidc-spa/serve.mjs exited with ${code} before printing its URL`)));
  });
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}
