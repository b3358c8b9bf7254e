// The example apps under examples/, built and served for the journeys that drive them.
//
// buildExample() runs `npm ci` and `npm run build` only when they are needed, so a second
// run costs a few file stats; a lock in the temp folder keeps two Playwright workers from
// installing or building the same folder at once. serveExample() starts examples/serve.mjs
// on the built app with the `/config.json` the journey gives it.

import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { createHash } from "node:crypto";
import { join, resolve } from "node:path";
import { firstLine, stopProcess } from "./processes.ts";

export const EXAMPLES_DIR = resolve(import.meta.dirname, "../../examples");
const SERVE = join(EXAMPLES_DIR, "serve.mjs");

export interface BuildOptions {
  /**
   * How the example uses the packages it depends on with `file:` (such as
   * `@latchkey/client` in clients/js): "dist" (the default) builds each one first when
   * its dist/ is missing or older than its sources, as a consumer from npm would get
   * it; "source" is for an example whose bundler compiles them from their sources
   * (the "source" export condition), so only their sources count for staleness.
   */
  localPackages?: "dist" | "source";
}

/**
 * Makes `examples/<dir>` (or an absolute `dir`) ready to serve: `npm ci` when
 * node_modules is missing or older than package-lock.json, `npm run build` when no
 * built index.html exists under dist/ or the build is older than any source (the
 * example's own files and the sources of its `file:` packages).
 */
export async function buildExample(dir: string, options: BuildOptions = {}): Promise<void> {
  const exampleDir = resolve(EXAMPLES_DIR, dir);
  const packages = localPackages(exampleDir);
  if ((options.localPackages ?? "dist") === "dist") {
    for (const packageDir of packages) await withLock(packageDir, () => buildPackage(packageDir));
  }
  await withLock(exampleDir, async () => {
    if (installWhenStale(exampleDir)) await npm(exampleDir, ["ci", "--no-audit", "--no-fund"]);
    const built = builtAt(exampleDir);
    const sources = Math.max(newestSource(exampleDir), ...packages.map(packageSourcesAt));
    if (built === null || built < sources) await npm(exampleDir, ["run", "build"]);
    if (builtAt(exampleDir) === null) throw new Error(`npm run build in ${exampleDir} left no index.html under dist/`);
  });
}

export interface ServeOptions {
  /** 0 (the default) picks a free port; pass one from freePort() when it must be known first. */
  port?: number;
  host?: string;
  /** Served as `/config.json`. */
  config?: unknown;
}

export interface ServedExample {
  /** The app's origin, e.g. `http://127.0.0.1:41234` (no trailing slash). */
  url: string;
  stop: () => Promise<void>;
}

/** Serves the built app of `examples/<dir>` with examples/serve.mjs until `stop()`. */
export async function serveExample(dir: string, options: ServeOptions = {}): Promise<ServedExample> {
  const root = builtRoot(resolve(EXAMPLES_DIR, dir));
  if (root === null) throw new Error(`examples/${dir} is not built: call buildExample() first`);
  const args = [SERVE, root, "--port", String(options.port ?? 0), "--host", options.host ?? "127.0.0.1"];
  if (options.config !== undefined) args.push("--config", JSON.stringify(options.config));
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  try {
    const line = await firstLine(child);
    const url = line.match(/^https?:\/\/\S+/)?.[0]?.replace(/\/$/, "");
    if (!url) throw new Error(`examples/serve.mjs printed no URL first: ${line}`);
    return { url, stop: () => stopProcess(child) };
  } catch (error) {
    await stopProcess(child);
    throw error;
  }
}

/** The folders of the example's `file:` dependencies. */
function localPackages(exampleDir: string): string[] {
  const manifest = JSON.parse(readFileSync(join(exampleDir, "package.json"), "utf8")) as {
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  return Object.values({ ...manifest.dependencies, ...manifest.devDependencies })
    .filter((spec) => spec.startsWith("file:"))
    .map((spec) => resolve(exampleDir, spec.slice("file:".length)));
}

async function buildPackage(packageDir: string): Promise<void> {
  if (installWhenStale(packageDir)) await npm(packageDir, ["ci", "--no-audit", "--no-fund"]);
  const dist = join(packageDir, "dist");
  if (!existsSync(dist) || newest(dist) < packageSourcesAt(packageDir)) await npm(packageDir, ["run", "build"]);
}

function installWhenStale(dir: string): boolean {
  const installed = join(dir, "node_modules/.package-lock.json");
  return !existsSync(installed) || mtime(installed) < mtime(join(dir, "package-lock.json"));
}

/** A package's sources as far as its consumers are concerned: src/ and its manifest. */
function packageSourcesAt(packageDir: string): number {
  return Math.max(...["src", "package.json", "tsconfig.json"].map((p) => join(packageDir, p)).filter(existsSync).map(newest));
}

/** Everything in the example but what installing and building make (and dot folders: caches). */
function newestSource(exampleDir: string): number {
  const skip = new Set(["node_modules", "dist"]);
  return Math.max(
    ...readdirSync(exampleDir)
      .filter((name) => !skip.has(name) && !name.startsWith("."))
      .map((name) => newest(join(exampleDir, name))),
  );
}

/** The folder under dist/ holding index.html: dist/ itself (Vite) or deeper (Angular's dist/<app>/browser). */
function builtRoot(exampleDir: string): string | null {
  const queue = [join(exampleDir, "dist")];
  while (queue.length > 0) {
    const dir = queue.shift()!;
    if (!existsSync(dir) || !statSync(dir).isDirectory()) continue;
    if (existsSync(join(dir, "index.html"))) return dir;
    queue.push(...readdirSync(dir).map((name) => join(dir, name)));
  }
  return null;
}

function builtAt(exampleDir: string): number | null {
  const root = builtRoot(exampleDir);
  return root === null ? null : mtime(join(root, "index.html"));
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

function npm(cwd: string, args: string[]): Promise<void> {
  return new Promise((resolveRun, reject) => {
    const child = spawn("npm", args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) =>
      code === 0 ? resolveRun() : reject(new Error(`npm ${args.join(" ")} in ${cwd} failed (${code}):\n${output}`)),
    );
  });
}

/**
 * Runs `work` while holding a lock on `dir` shared by every process on this machine
 * (a folder made with mkdir, which only one caller can create). A lock whose
 * holder has died is taken over.
 */
async function withLock<T>(dir: string, work: () => Promise<T>): Promise<T> {
  const lock = join(tmpdir(), `latchkey-e2e-build-${createHash("sha256").update(dir).digest("hex").slice(0, 16)}.lock`);
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      await mkdir(lock);
      await writeFile(join(lock, "pid"), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      if (!(await holderAlive(lock))) {
        await rm(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`gave up waiting for ${lock} (building ${dir})`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    return await work();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

async function holderAlive(lock: string): Promise<boolean> {
  const pid = Number(await readFile(join(lock, "pid"), "utf8").catch(() => ""));
  // No pid yet: the holder is between mkdir and writeFile, or died there; give it time.
  if (!pid) return Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? 0) < 10_000;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}


