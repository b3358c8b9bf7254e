// What the three upstreams share: reading their configuration from the command line,
// small HTTP helpers, and the one line printed when they are ready.

import { readFileSync } from 'node:fs';

/**
 * The configuration from the command line, over `defaults`:
 *   - a JSON object as an argument (`'{"port": 0, ...}'`), or `@file.json`, or `--config file.json`;
 *   - flags `--name value` or `--name=value` (dashes become underscores: `--client-id x` sets
 *     `client_id`); the keys named in `lists` (e.g. `redirect_uri` → `redirect_uris`) collect
 *     every occurrence; a value that parses as JSON (numbers, booleans, objects) is taken as that.
 */
export function parseConfig(argv, defaults = {}, lists = {}) {
  const config = structuredClone(defaults);
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg.startsWith('{')) {
      Object.assign(config, JSON.parse(arg));
    } else if (arg.startsWith('@')) {
      Object.assign(config, JSON.parse(readFileSync(arg.slice(1), 'utf8')));
    } else if (arg === '--config') {
      i += 1;
      Object.assign(config, JSON.parse(readFileSync(argv[i], 'utf8')));
    } else if (arg === '--help' || arg === '-h') {
      config.help = true;
    } else if (arg.startsWith('--')) {
      let name;
      let raw;
      const eq = arg.indexOf('=');
      if (eq > 0) {
        name = arg.slice(2, eq);
        raw = arg.slice(eq + 1);
      } else {
        name = arg.slice(2);
        i += 1;
        raw = argv[i];
        if (raw === undefined) throw new Error(`${arg} needs a value`);
      }
      const key = name.replaceAll('-', '_');
      const value = jsonOrString(raw);
      if (lists[key]) {
        const listKey = lists[key];
        if (!Array.isArray(config[listKey]) || config[`__${listKey}_from_flags`] !== true) {
          // Flags replace the defaults' list rather than adding to it.
          config[listKey] = [];
          config[`__${listKey}_from_flags`] = true;
        }
        config[listKey].push(value);
      } else {
        config[key] = value;
      }
    } else {
      throw new Error(`unexpected argument ${JSON.stringify(arg)} (try --help)`);
    }
  }
  for (const key of Object.keys(config)) {
    if (key.startsWith('__')) delete config[key];
  }
  return config;
}

function jsonOrString(raw) {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** The request body as a string, at most `limit` bytes (413 past that). */
export async function readBody(req, limit = 1024 * 1024) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) {
      const error = new Error('request body too large');
      error.status = 413;
      throw error;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A form (`application/x-www-form-urlencoded`) or JSON body as a plain object. */
export async function readParams(req) {
  const body = await readBody(req);
  const type = (req.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
  if (type === 'application/json') {
    return body ? JSON.parse(body) : {};
  }
  return Object.fromEntries(new URLSearchParams(body));
}

export function sendJson(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendHtml(res, status, html) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
}

export function redirect(res, location, status = 302) {
  res.writeHead(status, { location, 'cache-control': 'no-store' });
  res.end();
}

export function escapeHtml(value) {
  return String(value)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/**
 * Client credentials from `Authorization: Basic` (each part form-urlencoded first, RFC 6749
 * §2.3.1) or from the body (`client_secret_post`): `{ method, id, secret }` or undefined.
 */
export function clientCredentials(req, params) {
  const header = req.headers.authorization || '';
  if (header.toLowerCase().startsWith('basic ')) {
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    const formDecode = (s) => decodeURIComponent(s.replaceAll('+', ' '));
    try {
      return {
        method: 'client_secret_basic',
        id: formDecode(decoded.slice(0, colon)),
        secret: formDecode(decoded.slice(colon + 1)),
      };
    } catch {
      return undefined;
    }
  }
  if (params.client_secret !== undefined) {
    return { method: 'client_secret_post', id: params.client_id, secret: params.client_secret };
  }
  return undefined;
}

/** The bearer token of a request (`Bearer x` or GitHub's `token x`), or undefined. */
export function bearer(req) {
  const match = /^(?:bearer|token)\s+(\S+)$/i.exec(req.headers.authorization || '');
  return match ? match[1] : undefined;
}

/**
 * Listens on 127.0.0.1:`port` (0: a free port) and prints the one line the tests wait for.
 * With `exit_with_stdin`, the process ends when its standard input closes (the test that
 * started it is gone).
 */
export async function listen(server, port, config = {}) {
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const actual = server.address().port;
  if (config.exit_with_stdin) {
    process.stdin.on('end', () => process.exit(0));
    process.stdin.on('close', () => process.exit(0));
    process.stdin.resume();
  }
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => process.exit(0));
  }
  return actual;
}

export function announce(base) {
  process.stdout.write(`listening ${base}\n`);
}

/** A handler that answers 500 with the error (a test sees it) instead of crashing. */
export function guarded(handler) {
  return async (req, res) => {
    try {
      await handler(req, res);
    } catch (error) {
      if (!res.headersSent) {
        sendJson(res, error.status || 500, { error: 'upstream_error', error_description: String(error.message) });
      } else {
        res.destroy();
      }
      if (!error.status) console.error(error);
    }
  };
}

export const sleep = (ms) => new Promise((resolve) => {
  setTimeout(resolve, ms);
});
