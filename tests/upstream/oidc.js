#!/usr/bin/env node
// A real OpenID Provider for latchkey's tests: panva's oidc-provider (OpenID Certified) on
// 127.0.0.1, with one confidential client registered for latchkey, PKCE required, the given
// accounts, and a login page of its own that a test (or a person) fills in.
//
//   node oidc.js '{"port": 0, "client_id": "latchkey", "client_secret": "s",
//                  "redirect_uris": ["http://127.0.0.1:8080/api/federation/test/callback"],
//                  "accounts": [{"sub": "ada-1", "email": "ada@example.com", "email_verified": true,
//                                "preferred_username": "ada"}]}'
//   node oidc.js --port 4100 --redirect-uri http://127.0.0.1:8080/api/federation/test/callback
//
// Prints `listening http://127.0.0.1:PORT` (the issuer) when ready.
//
// Pages and control routes besides oidc-provider's own (/auth, /token, /me, /jwks, discovery):
//   GET  /interaction/{uid}        the login form (fields `login` = an account's sub, `password`)
//   POST /interaction/{uid}/login  signs in (303 back to /auth/{uid}); unknown account: 401 + the form
//   PUT  /__test/client            merges client metadata (e.g. {"redirect_uris": [...]})
//   PUT  /__test/accounts          adds or replaces accounts (by sub)
//   GET  /__test/logins            the logins so far: [{sub, at, uid, prompt}] (fresh logins)
// Consent is granted without a page: loadExistingGrant grants the requested scopes.
//
// Claims: by default `email`, `email_verified`, `preferred_username` and `name` are in the ID
// token itself (conformIdTokenClaims: false); with "claims_in": "userinfo" they are only at the
// UserInfo endpoint (oidc-provider's default, as with many real providers), so latchkey must
// read them there.

import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';

import Provider from 'oidc-provider';
import { exportJWK, generateKeyPair } from 'jose';

import {
  announce, escapeHtml, guarded, listen, parseConfig, readParams, sendHtml, sendJson,
} from './lib.js';

const HELP = `usage: node oidc.js ['<json>' | @config.json] [--port N] [--client-id ID] [--client-secret S]
       [--redirect-uri URL]... [--account '{"sub":…,"email":…,"email_verified":true}']...
       [--claims-in id_token|userinfo] [--cookie-prefix P] [--exit-with-stdin true]`;

const config = parseConfig(process.argv.slice(2), {
  port: 0,
  client_id: 'latchkey',
  client_secret: 'latchkey-test-secret',
  redirect_uris: [],
  token_endpoint_auth_method: 'client_secret_basic',
  accounts: [
    {
      sub: 'ada', email: 'ada@example.com', email_verified: true, preferred_username: 'ada', name: 'Ada Lovelace',
    },
  ],
  claims_in: 'id_token',
  cookie_prefix: '',
  exit_with_stdin: false,
}, { redirect_uri: 'redirect_uris', account: 'accounts' });

if (config.help) {
  console.log(HELP);
  process.exit(0);
}

// ---- State: accounts, the client, and everything oidc-provider stores (in memory) ----

const accounts = new Map();
function putAccount(account) {
  if (!account || typeof account.sub !== 'string' || !account.sub) throw new Error('an account needs a "sub"');
  accounts.set(account.sub, { ...account });
}
for (const account of config.accounts) putAccount(account);

let client = {
  client_id: config.client_id,
  client_secret: config.client_secret,
  redirect_uris: config.redirect_uris.length ? config.redirect_uris : ['http://127.0.0.1/unset'],
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: config.token_endpoint_auth_method,
  // auth_time in every ID token, not only when max_age is asked for.
  require_auth_time: true,
};
const logins = [];

const store = new Map(); // `${model}:${id}` → { payload, expiresAt }
const uids = new Map(); // session uid → id
const grants = new Map(); // grantId → Set of store keys

class TestAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    store.set(key, {
      payload: structuredClone(payload),
      expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : Infinity,
    });
    if (payload.uid) uids.set(payload.uid, id);
    if (payload.grantId) {
      if (!grants.has(payload.grantId)) grants.set(payload.grantId, new Set());
      grants.get(payload.grantId).add(key);
    }
  }

  async find(id) {
    // The client lives here rather than in the static configuration so that a test can set
    // its redirect URI once it knows latchkey's port (PUT /__test/client).
    if (this.model === 'Client') {
      return id === client.client_id ? structuredClone(client) : undefined;
    }
    const entry = store.get(this.key(id));
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      store.delete(this.key(id));
      return undefined;
    }
    return structuredClone(entry.payload);
  }

  async findByUid(uid) {
    const id = uids.get(uid);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode() {
    return undefined;
  }

  async consume(id) {
    const entry = store.get(this.key(id));
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    store.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    for (const key of grants.get(grantId) ?? []) store.delete(key);
    grants.delete(grantId);
  }
}

// ---- The provider ----

const server = createServer();
const port = await listen(server, config.port, config);
const issuer = `http://127.0.0.1:${port}`;
const prefix = config.cookie_prefix || `op${port}`;

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const signingKey = { ...(await exportJWK(privateKey)), kid: `oidc-${port}`, alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  adapter: TestAdapter,
  jwks: { keys: [signingKey] },
  cookies: {
    // Cookies on 127.0.0.1 are shared by every port: names of this instance's own.
    names: { session: `${prefix}_session`, interaction: `${prefix}_interaction`, resume: `${prefix}_resume` },
    keys: [randomBytes(32).toString('base64url')],
  },
  claims: {
    // acr and amr (when the login gave them) are masked like any claim: under openid.
    openid: ['sub', 'acr', 'amr'],
    email: ['email', 'email_verified'],
    profile: ['preferred_username', 'name'],
  },
  conformIdTokenClaims: config.claims_in !== 'id_token',
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    userinfo: { enabled: true },
    revocation: { enabled: true },
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(_ctx, sub) {
    const account = accounts.get(sub);
    if (!account) return undefined;
    return {
      accountId: sub,
      async claims() {
        const current = accounts.get(sub) ?? account;
        const claims = { sub };
        for (const name of ['email', 'email_verified', 'preferred_username', 'name']) {
          if (current[name] !== undefined) claims[name] = current[name];
        }
        return claims;
      },
    };
  },
  async loadExistingGrant(ctx) {
    // Consent without a page: the requested scopes and claims are granted.
    const { Grant } = ctx.oidc.provider;
    const { accountId } = ctx.oidc.session;
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    let grant = grantId ? await Grant.find(grantId) : undefined;
    if (!grant || grant.accountId !== accountId) {
      grant = new Grant({ clientId: ctx.oidc.client.clientId, accountId });
    }
    grant.addOIDCScope([...ctx.oidc.requestParamOIDCScopes].join(' '));
    const claims = [...ctx.oidc.requestParamClaims];
    if (claims.length) grant.addOIDCClaims(claims);
    await grant.save();
    return grant;
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = `<!doctype html><title>oidc error</title><h1>${escapeHtml(out.error)}</h1><p>${escapeHtml(out.error_description ?? '')}</p>`;
  },
});

provider.on('server_error', (_ctx, error) => console.error('oidc-provider server_error', error));

// ---- Login pages and control routes ----

function loginPage(uid, details, error) {
  const hint = details.params.login_hint ? ` value="${escapeHtml(details.params.login_hint)}"` : '';
  const known = [...accounts.values()].map((a) => `<li><code>${escapeHtml(a.sub)}</code> ${escapeHtml(a.email ?? '')}</li>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to the test provider</title></head>
<body>
<h1>Sign in to the test provider</h1>
<p>${escapeHtml(issuer)} asks who you are for <strong>${escapeHtml(details.params.client_id)}</strong>.</p>
${error ? `<p role="alert" class="error">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
  <label>Account <input name="login" autocomplete="username" required${hint}></label>
  <label>Password <input name="password" type="password" autocomplete="current-password"></label>
  <button type="submit">Sign in</button>
</form>
<p>Accounts:</p><ul>${known}</ul>
</body></html>`;
}

async function interaction(req, res, url) {
  const match = /^\/interaction\/([^/]+)(\/login)?$/.exec(url.pathname);
  if (!match) return false;
  const [, uid, login] = match;
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) {
    sendHtml(res, 400, '<!doctype html><p>This sign-in is not the one in progress.</p>');
    return true;
  }
  if (details.prompt.name === 'consent') {
    // Not reached while loadExistingGrant grants everything; kept as a safety net.
    const grant = new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    if (details.prompt.details.missingOIDCScope) grant.addOIDCScope(details.prompt.details.missingOIDCScope.join(' '));
    if (details.prompt.details.missingOIDCClaims) grant.addOIDCClaims(details.prompt.details.missingOIDCClaims);
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return true;
  }
  if (req.method === 'GET' && !login) {
    sendHtml(res, 200, loginPage(uid, details));
    return true;
  }
  if (req.method === 'POST' && login) {
    const form = await readParams(req);
    const account = accounts.get(form.login);
    if (!account || (account.password !== undefined && account.password !== form.password)) {
      sendHtml(res, 401, loginPage(uid, details, 'Unknown account or wrong password.'));
      return true;
    }
    logins.push({
      sub: account.sub, at: Math.floor(Date.now() / 1000), uid, prompt: details.params.prompt ?? null,
    });
    const result = { login: { accountId: account.sub } };
    if (account.amr) result.login.amr = account.amr;
    if (account.acr) result.login.acr = account.acr;
    await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
    return true;
  }
  sendHtml(res, 405, '<!doctype html><p>Method not allowed.</p>');
  return true;
}

async function control(req, res, url) {
  if (!url.pathname.startsWith('/__test/')) return false;
  const route = `${req.method} ${url.pathname}`;
  if (route === 'PUT /__test/client') {
    const body = await readParams(req);
    client = { ...client, ...body, client_id: client.client_id };
    sendJson(res, 200, client);
  } else if (route === 'PUT /__test/accounts') {
    const body = await readParams(req);
    for (const account of Array.isArray(body) ? body : [body]) putAccount(account);
    sendJson(res, 200, [...accounts.values()]);
  } else if (route === 'GET /__test/logins') {
    sendJson(res, 200, logins);
  } else {
    sendJson(res, 404, { error: 'not_found' });
  }
  return true;
}

const callback = provider.callback();
server.on('request', guarded(async (req, res) => {
  const url = new URL(req.url, issuer);
  if (await control(req, res, url)) return;
  if (await interaction(req, res, url)) return;
  callback(req, res);
}));

announce(issuer);
