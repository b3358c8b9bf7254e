import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { firstLine, stopProcess } from "./processes.ts";

const E2E_DIR = resolve(import.meta.dirname, "..");
const EXAMPLE_SERVER = resolve(E2E_DIR, "../examples/serve.mjs");
const CROSS_ORIGIN_EXAMPLE = resolve(E2E_DIR, "../examples/cross-origin");

export function latchkeyBinary(): string {
  return resolve(process.env.LATCHKEY_BIN ?? join(E2E_DIR, "../target/release/latchkey"));
}

export interface Servers {
  /** latchkey's public URL, always on `localhost` (see the cross-origin README). */
  url: string;
  /** The cross-origin example page, on another port of `localhost`. */
  exampleUrl: string;
  configPath: string;
  /** Runs the latchkey CLI against this server's configuration and database. */
  cli: (args: string[], stdin?: string) => Promise<{ code: number | null; stdout: string; stderr: string }>;
  stop: () => Promise<void>;
}

export interface ServerOptions {
  /** An SMTP server for latchkey's mail (`[smtp] url`); without it latchkey sends none. */
  smtpUrl?: string | undefined;
  /**
   * More origins for `cors.allowed_origins`, beside the cross-origin example's: an app
   * a journey serves itself, on a port it chose first with freePort().
   */
  corsOrigins?: string[] | undefined;
  /** TOML appended to the configuration, e.g. `[security]\nstep_up_window = "2s"`. */
  extraConfig?: string | undefined;
  /**
   * Environment for the server and the CLI on top of this process's, for what only the
   * environment may hold (`LATCHKEY_FEDERATION__PROVIDERS__0__CLIENT_SECRET`).
   */
  env?: Record<string, string> | undefined;
}

/**
 * A fresh latchkey on a free port with its own temp directory (config and
 * SQLite database), plus the cross-origin example on another free port that
 * latchkey lists in `cors.allowed_origins`. Logs go to test-results/.
 * `options` add to the configuration; without them it is what every other
 * spec gets.
 */
export async function startServers(name: string, options: ServerOptions = {}): Promise<Servers> {
  const dir = await mkdtemp(join(tmpdir(), "latchkey-e2e-"));
  const logDir = join(E2E_DIR, "test-results");
  await mkdir(logDir, { recursive: true });
  const logPath = join(dir, "latchkey.log");
  const children: ChildProcess[] = [];

  const stop = async () => {
    await Promise.all(children.map(stopProcess));
    await copyFile(logPath, join(logDir, `latchkey-${name}.log`)).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const example = spawn(process.execPath, [EXAMPLE_SERVER, CROSS_ORIGIN_EXAMPLE, "--host", "localhost", "--port", "0"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    children.push(example);
    const exampleUrl = (await firstLine(example)).match(/https?:\/\/\S+/)?.[0]?.replace(/\/$/, "");
    if (!exampleUrl) throw new Error("the cross-origin example server did not print its URL");

    const port = await freePort();
    const url = `http://localhost:${port}`;
    const configPath = join(dir, "latchkey.toml");
    await writeFile(
      configPath,
      [
        `listen = "127.0.0.1:${port}"`,
        `public_url = "${url}"`,
        `database_url = "sqlite://${join(dir, "latchkey.db")}"`,
        "",
        "[cors]",
        `allowed_origins = ${JSON.stringify([exampleUrl, ...(options.corsOrigins ?? [])])}`,
        "",
        "[log]",
        `format = "json"`,
        "",
        ...(options.smtpUrl ? ["[smtp]", `url = "${options.smtpUrl}"`, `from = "latchkey <latchkey@example.com>"`, ""] : []),
        ...(options.extraConfig ? [options.extraConfig, ""] : []),
      ].join("\n"),
    );

    const log = createWriteStream(logPath);
    const env = { ...process.env, ...options.env };
    const server = spawn(latchkeyBinary(), ["--config", configPath, "serve"], { stdio: ["ignore", "pipe", "pipe"], env });
    children.push(server);
    server.stdout?.pipe(log);
    server.stderr?.pipe(log);
    await waitForHealth(url, server, logPath);

    const cli: Servers["cli"] = (args, stdin) => run(latchkeyBinary(), ["--config", configPath, ...args], stdin, env);
    return { url, exampleUrl, configPath, cli, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function waitForHealth(url: string, server: ChildProcess, logPath: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) {
      throw new Error(`latchkey exited with code ${server.exitCode} before it was healthy; see ${logPath}`);
    }
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`latchkey did not answer GET /healthz with 200 within 20 s; see ${logPath}`);
}


/** Asks the OS for a free port of 127.0.0.1 (latchkey needs it up front: its public_url must name it). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolvePort(port));
    });
  });
}


function run(command: string, args: string[], stdin?: string, env?: NodeJS.ProcessEnv) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolveRun, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"], env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolveRun({ code, stdout, stderr }));
    child.stdin.end(stdin ?? "");
  });
}
