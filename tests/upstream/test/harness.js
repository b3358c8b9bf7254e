// Starts an upstream as the Rust tests do, and a tiny browser (a cookie jar, no automatic
// redirects) to drive it, for the upstreams' own smoke tests (`npm test`).

import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('..', import.meta.url));

/** Starts `script` with `config`; resolves `{ base, stop }` once it prints its line. */
export async function start(script, config) {
  const child = spawn(process.execPath, [script, JSON.stringify({ port: 0, ...config })], {
    cwd: here,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const [line] = await Promise.race([
    once(lines, 'line'),
    once(child, 'exit').then(([code]) => { throw new Error(`${script} exited with ${code}`); }),
  ]);
  const match = /^listening (http:\/\/\S+)$/.exec(line);
  if (!match) throw new Error(`unexpected first line: ${line}`);
  return {
    base: match[1],
    stop: () => child.kill(),
  };
}

/** Cookies by name, as a browser keeps them for one host whatever the port. */
export class Browser {
  constructor() {
    this.cookies = new Map();
  }

  async request(url, init = {}) {
    const headers = new Headers(init.headers);
    if (this.cookies.size) {
      headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    }
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age=0/i.test(a) || /^\s*expires=Thu, 01 Jan 1970/i.test(a));
      if (expired || value === '') this.cookies.delete(name); else this.cookies.set(name, value);
    }
    return response;
  }

  get(url) {
    return this.request(url);
  }

  post(url, form) {
    return this.request(url, {
      method: 'POST',
      body: new URLSearchParams(form).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  }
}

export function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

export function basic(id, secret) {
  const enc = (s) => encodeURIComponent(s);
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

export function claimsOf(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}

export function headerOf(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString('utf8'));
}

/** The `action` of the first form on an HTML page, resolved against `base`. */
export function formAction(html, base) {
  const match = /<form[^>]*\saction="([^"]*)"/i.exec(html);
  if (!match) throw new Error(`no form in ${html}`);
  return new URL(match[1].replaceAll('&amp;', '&'), base).href;
}
