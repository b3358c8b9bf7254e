#!/usr/bin/env node
// A zero-dependency static server for the built app (dist/), answering every
// path that is not a file (such as /callback) with index.html, and /config.json
// from its flags:
//   node serve.mjs [--port 5175] [--host 127.0.0.1] [--authority URL --client-id ID [--scope "openid …"]]
// Without --authority and --client-id, /config.json is dist/config.json (from public/).
// `--port 0` picks a free port; the first line printed is the URL to open.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { dirname, extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "dist");
const types = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
};

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 && process.argv[index + 1] !== undefined ? process.argv[index + 1] : fallback;
}

const port = Number(option("port", "5175"));
const host = option("host", "127.0.0.1");
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a number from 0 to 65535, not ${option("port")}`);
  process.exit(2);
}
const authority = option("authority");
const clientId = option("client-id");
if (!authority !== !clientId) {
  console.error("--authority and --client-id go together");
  process.exit(2);
}
const config = authority ? JSON.stringify({ authority, client_id: clientId, scope: option("scope") }) : null;

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
  if (pathname === "/config.json" && config) return send(200, types[".json"], config);

  const file = normalize(join(root, pathname));
  // normalize() resolves "..": anything that ends up outside dist/ is refused.
  if (file !== root && !file.startsWith(root + sep)) return send(403, "text/plain; charset=utf-8", "forbidden\n");
  try {
    return send(200, types[extname(file)] ?? "application/octet-stream", await readFile(file));
  } catch {
    // A path without an extension is one of the app's pages (/, /callback).
    if (extname(pathname)) return send(404, "text/plain; charset=utf-8", "not found\n");
  }
  try {
    send(200, types[".html"], await readFile(join(root, "index.html")));
  } catch {
    send(500, "text/plain; charset=utf-8", "dist/index.html is missing: run `npm run build` first\n");
  }
});

server.listen(port, host, () => {
  const { port: actual } = server.address();
  console.log(`oidc-spa example on http://${host}:${actual}/`);
});

for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.close(() => process.exit(0)));
