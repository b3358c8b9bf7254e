#!/usr/bin/env node
// A zero-dependency static server for an example's built app:
//
//   node examples/serve.mjs <dist-dir> [--port 0] [--host 127.0.0.1] [--config '<json>']
//
// Every path that is not a file (such as /login or /callback) is answered with
// index.html, so the app's client-side router gets it. /config.json is the --config
// JSON when given, else <dist-dir>/config.json: an app reads its settings (latchkey's
// URL, a client_id) at run time, so one build serves any latchkey.
// `--port 0` (the default) picks a free port; the first line printed is the URL.
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, resolve, sep } from "node:path";

const USAGE = "usage: node examples/serve.mjs <dist-dir> [--port 0] [--host 127.0.0.1] [--config '<json>']";

const types = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
  ".webmanifest": "application/manifest+json",
};

function fail(message) {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

/** `--name value` pairs and one positional argument, the folder to serve. */
function parseArguments(argv) {
  const options = {};
  const positional = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--")) {
      positional.push(arg);
      continue;
    }
    const name = arg.slice(2);
    if (!["port", "host", "config"].includes(name)) fail(`unknown option ${arg}`);
    if (argv[i + 1] === undefined) fail(`${arg} needs a value`);
    options[name] = argv[++i];
  }
  if (positional.length !== 1) fail("name exactly one folder to serve");
  return { dist: positional[0], ...options };
}

const args = parseArguments(process.argv.slice(2));
const root = resolve(args.dist);
const host = args.host ?? "127.0.0.1";
const port = Number(args.port ?? "0");
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be a number from 0 to 65535, not ${args.port}`);

let config = null;
if (args.config !== undefined) {
  try {
    config = JSON.stringify(JSON.parse(args.config));
  } catch {
    fail("--config must be JSON");
  }
}

if (!(await stat(join(root, "index.html")).catch(() => null))?.isFile()) {
  fail(`${join(root, "index.html")} is missing: build the example first (npm run build)`);
}

const server = createServer(async (req, res) => {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { Allow: "GET, HEAD" }).end();
    return;
  }
  let pathname;
  try {
    pathname = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
  } catch {
    res.writeHead(400).end();
    return;
  }
  const send = (status, type, body) => {
    res.writeHead(status, { "Content-Type": type, "Cache-Control": "no-cache" });
    res.end(req.method === "HEAD" ? undefined : body);
  };
  if (pathname === "/config.json" && config !== null) return send(200, types[".json"], config);

  const file = normalize(join(root, pathname));
  // normalize() resolves "..": anything that ends up outside the folder is refused.
  if (file !== root && !file.startsWith(root + sep)) return send(403, "text/plain; charset=utf-8", "forbidden\n");
  try {
    return send(200, types[extname(file)] ?? "application/octet-stream", await readFile(file));
  } catch {
    // A path with an extension names a file that is not there; any other is one of the app's pages.
    if (extname(pathname)) return send(404, "text/plain; charset=utf-8", "not found\n");
  }
  try {
    send(200, types[".html"], await readFile(join(root, "index.html")));
  } catch {
    send(500, "text/plain; charset=utf-8", "index.html is missing: build the example again\n");
  }
});

server.listen(port, host, () => {
  const { port: actual } = server.address();
  const shownHost = host.includes(":") ? `[${host}]` : host;
  console.log(`http://${shownHost}:${actual}/`);
  console.log(`serving ${root}${config !== null ? " with /config.json from --config" : ""}`);
});

for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.close(() => process.exit(0)));
