// The identity providers the federation journey signs in at, from tests/upstream/ (read
// its README): panva's oidc-provider as a real OpenID Provider, and a GitHub-shaped
// OAuth 2.0 server. Each runs on a free port of 127.0.0.1 and ends with this process.

import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { stopProcess } from "./processes.ts";

const E2E_DIR = resolve(import.meta.dirname, "..");
const UPSTREAM_DIR = resolve(E2E_DIR, "../tests/upstream");

export type UpstreamKind = "oidc" | "github";

export interface Upstream {
  /** The issuer (oidc) or the web and API base (github), e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** Registers latchkey's callback, known only once latchkey runs (`PUT /__test/client`). */
  setRedirectUris: (uris: string[]) => Promise<void>;
  /** Adds accounts (oidc: `{sub, email, …}`) or users (github: `{id, login, emails}`). */
  addAccounts: (accounts: object[]) => Promise<void>;
  stop: () => Promise<void>;
}

/** What is missing to run the upstreams: their npm packages (`npm ci` in tests/upstream). */
export function missingUpstreamPackages(): string[] {
  return existsSync(join(UPSTREAM_DIR, "node_modules/oidc-provider/package.json")) ? [] : ["tests/upstream/node_modules"];
}

/**
 * Starts `tests/upstream/{kind}.js` with `config` (its JSON argument) and waits for its
 * `listening http://127.0.0.1:PORT` line. Its standard input stays open: when this
 * process dies, the upstream sees it close and exits too.
 */
export async function startUpstream(kind: UpstreamKind, name: string, config: Record<string, unknown>): Promise<Upstream> {
  const logDir = join(E2E_DIR, "test-results");
  await mkdir(logDir, { recursive: true });
  const log = createWriteStream(join(logDir, `upstream-${name}.log`));
  const child = spawn(process.execPath, [join(UPSTREAM_DIR, `${kind}.js`), JSON.stringify({ port: 0, ...config, exit_with_stdin: true })], {
    cwd: UPSTREAM_DIR,
    stdio: ["pipe", "pipe", "pipe"],
  });
  child.stderr?.pipe(log);
  let url: string;
  try {
    url = await listeningUrl(child);
  } catch (error) {
    await stopProcess(child);
    throw new Error(`tests/upstream/${kind}.js did not start (${String(error)}); see test-results/upstream-${name}.log`);
  }
  child.stdout?.pipe(log);

  const control = async (path: string, body: unknown) => {
    const response = await fetch(`${url}${path}`, {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`PUT ${url}${path} answered ${response.status}: ${await response.text()}`);
  };
  return {
    url,
    setRedirectUris: (uris) => control("/__test/client", { redirect_uris: uris }),
    addAccounts: (accounts) => control(kind === "oidc" ? "/__test/accounts" : "/__test/users", accounts),
    stop: () => stopProcess(child),
  };
}

function listeningUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolveUrl, reject) => {
    let buffer = "";
    const timer = setTimeout(() => reject(new Error("no `listening` line within 20 s")), 20_000);
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      const match = /^listening (http:\/\/\S+)$/m.exec(buffer);
      if (match?.[1]) {
        clearTimeout(timer);
        child.stdout?.off("data", onData);
        resolveUrl(match[1].replace(/\/$/, ""));
      }
    };
    child.stdout?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}`));
    });
  });
}

