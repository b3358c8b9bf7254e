#!/usr/bin/env node
// A GitHub-shaped OAuth 2.0 server (no OpenID Connect) for latchkey's `kind = "github"`
// preset: the web flow at {base}/login/oauth/…, and the REST API at {base}/user and
// {base}/api/v3/user (GitHub Enterprise's layout), so latchkey is configured with
// `issuer = base` and `api_url = base` (or `base + "/api/v3"`).
//
//   node github.js '{"port": 0, "client_id": "latchkey-gh", "client_secret": "s",
//     "redirect_uris": ["http://127.0.0.1:8080/api/federation/github/callback"],
//     "users": [{"id": 583231, "login": "octocat", "name": "The Octocat", "email": null,
//                "emails": [{"email": "octocat@example.com", "primary": true, "verified": true}]}]}'
//
// Prints `listening http://127.0.0.1:PORT` when ready.
//
// As GitHub does:
//   GET  /login/oauth/authorize          a sign-in page (field `login`; the form posts to the same URL)
//   POST /login/oauth/authorize?…        signs in as `login` and redirects (302) to redirect_uri?code&state
//   POST /login/oauth/access_token       client_secret_basic or client_secret_post; PKCE (S256) checked when
//                                        the authorization had a code_challenge; JSON with
//                                        `Accept: application/json`, else a form-encoded body; errors are
//                                        200 {"error": "bad_verification_code"…} like GitHub's
//   GET  /user, /api/v3/user             {id (number), login, name, email (the public one or null), …}
//   GET  /user/emails, /api/v3/user/…    [{email, primary, verified, visibility}] (needs scope user:email or user)
// Both API routes answer 403 without a User-Agent header, as GitHub's API does.
// Control: PUT /__test/client (merge client fields, e.g. {"redirect_uris": [...]}),
//          PUT /__test/users (add or replace users by id), GET /__test/tokens (count of tokens issued).

import { createServer } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';

import {
  announce, bearer, clientCredentials, escapeHtml, guarded, listen, parseConfig, readParams, redirect, sendHtml,
  sendJson,
} from './lib.js';

const HELP = `usage: node github.js ['<json>' | @config.json] [--port N] [--client-id ID] [--client-secret S]
       [--redirect-uri URL]... [--user '{"id":1,"login":"octocat","emails":[…]}']... [--exit-with-stdin true]`;

const config = parseConfig(process.argv.slice(2), {
  port: 0,
  client_id: 'latchkey-github',
  client_secret: 'latchkey-github-secret',
  redirect_uris: [],
  users: [
    {
      id: 583231,
      login: 'octocat',
      name: 'The Octocat',
      email: null,
      emails: [{ email: 'octocat@example.com', primary: true, verified: true, visibility: 'private' }],
    },
  ],
  require_user_agent: true,
  exit_with_stdin: false,
}, { redirect_uri: 'redirect_uris', user: 'users' });

if (config.help) {
  console.log(HELP);
  process.exit(0);
}

let client = {
  client_id: config.client_id,
  client_secret: config.client_secret,
  redirect_uris: config.redirect_uris,
};
const users = new Map(); // login → user
function putUser(user) {
  if (typeof user?.id !== 'number' || typeof user.login !== 'string') {
    throw new Error('a user needs a numeric "id" and a "login"');
  }
  for (const [login, existing] of users) if (existing.id === user.id) users.delete(login);
  users.set(user.login, { name: null, email: null, emails: [], ...user });
}
for (const user of config.users) putUser(user);

const codes = new Map(); // code → { clientId, redirectUri, scope, challenge, login, expiresAt }
const tokens = new Map(); // access token → { login, scope }
let issued = 0;

const server = createServer();
const port = await listen(server, config.port, config);
const base = `http://127.0.0.1:${port}`;

function signInPage(query, error) {
  const known = [...users.values()].map((u) => `<li><code>${escapeHtml(u.login)}</code></li>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to GitHub (test)</title></head>
<body>
<h1>Sign in to GitHub</h1>
<p>to continue to <strong>${escapeHtml(client.client_id)}</strong></p>
${error ? `<p role="alert" class="error">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/login/oauth/authorize?${escapeHtml(query)}">
  <label>Username or email address <input name="login" autocomplete="username" required></label>
  <label>Password <input name="password" type="password" autocomplete="current-password"></label>
  <button type="submit">Sign in</button>
</form>
<p>Users:</p><ul>${known}</ul>
</body></html>`;
}

/** The authorize request's own checks: an error page (never a redirect) for a bad client or URI. */
function checkAuthorize(params) {
  if (params.get('client_id') !== client.client_id) return 'The client_id is not registered.';
  const redirectUri = params.get('redirect_uri');
  if (redirectUri !== null && !client.redirect_uris.includes(redirectUri)) {
    return 'The redirect_uri is not associated with this application.';
  }
  if (redirectUri === null && client.redirect_uris.length === 0) return 'No redirect_uri.';
  const method = params.get('code_challenge_method');
  if (params.get('code_challenge') !== null && method !== 'S256') return 'Only S256 is supported.';
  return undefined;
}

async function authorize(req, res, url) {
  const params = url.searchParams;
  const problem = checkAuthorize(params);
  if (problem) {
    sendHtml(res, 400, `<!doctype html><p>${escapeHtml(problem)}</p>`);
    return;
  }
  const query = url.search.slice(1);
  if (req.method === 'GET') {
    sendHtml(res, 200, signInPage(query));
    return;
  }
  const form = await readParams(req);
  const login = String(form.login ?? '');
  const user = users.get(login) ?? [...users.values()].find((u) => u.emails.some((e) => e.email === login));
  if (!user || (user.password !== undefined && user.password !== form.password)) {
    sendHtml(res, 401, signInPage(query, 'Incorrect username or password.'));
    return;
  }
  const code = randomBytes(10).toString('hex');
  const redirectUri = params.get('redirect_uri') ?? client.redirect_uris[0];
  codes.set(code, {
    clientId: client.client_id,
    redirectUri: params.get('redirect_uri'),
    scope: (params.get('scope') ?? '').split(/[ ,]+/).filter(Boolean).join(','),
    challenge: params.get('code_challenge'),
    login: user.login,
    expiresAt: Date.now() + 10 * 60 * 1000,
  });
  const target = new URL(redirectUri);
  target.searchParams.set('code', code);
  if (params.get('state') !== null) target.searchParams.set('state', params.get('state'));
  redirect(res, target.href, 302);
}

function tokenAnswer(req, res, body) {
  const accept = req.headers.accept || '';
  if (accept.includes('application/json')) {
    sendJson(res, 200, body);
  } else {
    const text = new URLSearchParams(body).toString();
    res.writeHead(200, { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', 'cache-control': 'no-store' });
    res.end(text);
  }
}

function tokenError(req, res, error, description) {
  // GitHub answers token errors with 200 and an `error` field.
  tokenAnswer(req, res, { error, error_description: description, error_uri: 'https://docs.github.com/apps/oauth' });
}

async function accessToken(req, res) {
  const params = await readParams(req);
  const credentials = clientCredentials(req, params);
  if (!credentials || credentials.id !== client.client_id || credentials.secret !== client.client_secret) {
    tokenError(req, res, 'incorrect_client_credentials', 'The client_id and/or client_secret passed are incorrect.');
    return;
  }
  const grant = codes.get(params.code);
  codes.delete(params.code);
  if (!grant || grant.expiresAt < Date.now() || grant.clientId !== credentials.id) {
    tokenError(req, res, 'bad_verification_code', 'The code passed is incorrect or expired.');
    return;
  }
  if (grant.redirectUri !== null && params.redirect_uri !== undefined && params.redirect_uri !== grant.redirectUri) {
    tokenError(req, res, 'redirect_uri_mismatch', 'The redirect_uri MUST match the registered callback URL for this application.');
    return;
  }
  if (grant.challenge !== null) {
    const verifier = params.code_verifier ?? '';
    const computed = createHash('sha256').update(verifier).digest('base64url');
    if (computed !== grant.challenge) {
      tokenError(req, res, 'bad_verification_code', 'The code_verifier does not match the code_challenge.');
      return;
    }
  }
  const token = `gho_${randomBytes(18).toString('base64url')}`;
  tokens.set(token, { login: grant.login, scope: grant.scope });
  issued += 1;
  tokenAnswer(req, res, { access_token: token, token_type: 'bearer', scope: grant.scope });
}

function apiUser(req, res) {
  if (config.require_user_agent && !req.headers['user-agent']) {
    sendJson(res, 403, {
      message: 'Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required).',
    });
    return undefined;
  }
  const grant = tokens.get(bearer(req));
  const user = grant && users.get(grant.login);
  if (!user) {
    sendJson(res, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
    return undefined;
  }
  return { user, scopes: grant.scope.split(',') };
}

async function api(req, res, path) {
  if (req.method !== 'GET') {
    sendJson(res, 404, { message: 'Not Found' });
    return;
  }
  const found = apiUser(req, res);
  if (!found) return;
  const { user, scopes } = found;
  if (path === '/user') {
    sendJson(res, 200, {
      login: user.login,
      id: user.id,
      node_id: `U_${Buffer.from(String(user.id)).toString('base64url')}`,
      avatar_url: `${base}/avatars/${user.id}`,
      html_url: `${base}/${user.login}`,
      type: 'User',
      site_admin: false,
      name: user.name,
      email: user.email,
    }, { 'x-oauth-scopes': scopes.join(', ') });
  } else if (path === '/user/emails') {
    if (!scopes.includes('user:email') && !scopes.includes('user')) {
      sendJson(res, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest/users/emails' });
      return;
    }
    sendJson(res, 200, user.emails.map((e) => ({
      email: e.email, primary: Boolean(e.primary), verified: Boolean(e.verified), visibility: e.visibility ?? null,
    })));
  } else {
    sendJson(res, 404, { message: 'Not Found' });
  }
}

async function control(req, res, url) {
  const route = `${req.method} ${url.pathname}`;
  if (route === 'PUT /__test/client') {
    const body = await readParams(req);
    client = { ...client, ...body, client_id: client.client_id };
    sendJson(res, 200, client);
  } else if (route === 'PUT /__test/users') {
    const body = await readParams(req);
    for (const user of Array.isArray(body) ? body : [body]) putUser(user);
    sendJson(res, 200, [...users.values()]);
  } else if (route === 'GET /__test/tokens') {
    sendJson(res, 200, { issued });
  } else {
    sendJson(res, 404, { error: 'not_found' });
  }
}

server.on('request', guarded(async (req, res) => {
  const url = new URL(req.url, base);
  const path = url.pathname;
  if (path.startsWith('/__test/')) {
    await control(req, res, url);
  } else if (path === '/login/oauth/authorize' && (req.method === 'GET' || req.method === 'POST')) {
    await authorize(req, res, url);
  } else if (path === '/login/oauth/access_token' && req.method === 'POST') {
    await accessToken(req, res);
  } else if (path.startsWith('/api/v3/')) {
    await api(req, res, path.slice('/api/v3'.length));
  } else if (path === '/user' || path === '/user/emails') {
    await api(req, res, path);
  } else {
    sendJson(res, 404, { message: 'Not Found' });
  }
}));

announce(base);
