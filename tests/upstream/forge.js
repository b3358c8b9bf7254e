#!/usr/bin/env node
// A programmable OpenID Provider for the negative cases a certified one never produces: it
// mints ID tokens with the defect a test asks for, answers from the wrong issuer, slowly, or
// with a huge body. Not a real provider: its authorize endpoint signs in at once (no page)
// and redirects back with a code.
//
//   node forge.js '{"port": 0, "client_id": "latchkey", "client_secret": "s",
//     "redirect_uris": ["http://127.0.0.1:8080/api/federation/forge/callback"],
//     "accounts": [{"sub": "mallory", "email": "m@example.com", "email_verified": true}],
//     "mode": "ok"}'
//
// Prints `listening http://127.0.0.1:PORT` (the issuer) when ready.
//
// Routes: /.well-known/openid-configuration, /jwks, /authorize, /token, /userinfo, and
//   POST /control  {"mode": "...", "account": {...}, "delay_ms": N, "huge_bytes": N, "rotate": true}
//                  sets the mode for the flows that follow (the answer is the whole state);
//                  "rotate": true replaces the signing key (new kid) as a provider's rotation would.
//   GET  /control  the state, and the requests seen so far ("requests": [{endpoint, ...}]).
// The mode can also be chosen per flow: add `forge_mode=<mode>` (and `forge_sub=<sub>`) to the
// authorize URL that latchkey redirects to; the code remembers it.
//
// Modes (what is wrong, and where):
//   ok                 nothing: a valid ID token (RS256, kid in the JWKS, email claims in it)
//   unknown_kid        ID token signed by a key whose kid is not in the JWKS
//   bad_signature      ID token signed by another key under the JWKS key's kid
//   expired            exp 10 minutes ago
//   iat_future         iat an hour from now
//   wrong_aud          aud is another client
//   azp_other          aud [client, another], azp another
//   multi_aud          aud [client, another] without azp
//   wrong_nonce        nonce is not the one of the authorization request
//   no_nonce           nonce missing
//   wrong_iss          iss of the ID token is another issuer
//   alg_none           an unsigned ID token ("alg": "none")
//   hs256              ID token MACed with the client secret (HS256; not advertised)
//   no_id_token        the token response has no id_token
//   userinfo_other_sub UserInfo answers for another sub than the ID token's
//   token_error        the token endpoint answers 400 invalid_grant
//   slow               the token endpoint answers after delay_ms (default 30 s)
//   huge               the token endpoint answers with huge_bytes (default 16 MiB) of JSON
//   iss_param_other    the authorization response carries iss of another issuer (mix-up)
//   iss_param_missing  the authorization response carries no iss (though discovery says it will)
//   access_denied      the authorization response is error=access_denied
// The token endpoint itself checks the client (basic or post), the code (single use), the
// redirect_uri and the PKCE verifier (S256), so a replayed code is refused as by a real one.

import { createServer } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';

import {
  SignJWT, UnsecuredJWT, exportJWK, generateKeyPair,
} from 'jose';

import {
  announce, bearer, clientCredentials, guarded, listen, parseConfig, readParams, redirect, sendJson, sleep,
} from './lib.js';

const MODES = new Set([
  'ok', 'unknown_kid', 'bad_signature', 'expired', 'iat_future', 'wrong_aud', 'azp_other', 'multi_aud',
  'wrong_nonce', 'no_nonce', 'wrong_iss', 'alg_none', 'hs256', 'no_id_token', 'userinfo_other_sub', 'token_error',
  'slow', 'huge', 'iss_param_other', 'iss_param_missing', 'access_denied',
]);

const HELP = `usage: node forge.js ['<json>' | @config.json] [--port N] [--client-id ID] [--client-secret S]
       [--redirect-uri URL]... [--account '{"sub":…}']... [--mode MODE] [--exit-with-stdin true]
modes: ${[...MODES].join(' ')}`;

const config = parseConfig(process.argv.slice(2), {
  port: 0,
  client_id: 'latchkey',
  client_secret: 'latchkey-forge-secret',
  redirect_uris: [],
  accounts: [{
    sub: 'forged-1', email: 'forged@example.com', email_verified: true, preferred_username: 'forged',
  }],
  mode: 'ok',
  delay_ms: 30000,
  huge_bytes: 16 * 1024 * 1024,
  iss_param_supported: true,
  exit_with_stdin: false,
}, { redirect_uri: 'redirect_uris', account: 'accounts' });

if (config.help) {
  console.log(HELP);
  process.exit(0);
}
if (!MODES.has(config.mode)) throw new Error(`unknown mode ${config.mode}`);

const state = {
  mode: config.mode,
  delay_ms: config.delay_ms,
  huge_bytes: config.huge_bytes,
  account: config.accounts[0],
  accounts: config.accounts,
  client: { client_id: config.client_id, client_secret: config.client_secret, redirect_uris: config.redirect_uris },
  requests: [],
};

async function newKey(kid) {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}
let generation = 1;
let key = await newKey(`forge-${generation}`);
const rogue = await newKey('rogue');

const codes = new Map(); // code → { nonce, challenge, redirectUri, mode, account, scope, used }
const accessTokens = new Map(); // token → { account, mode }

const server = createServer();
const port = await listen(server, config.port, config);
const issuer = `http://127.0.0.1:${port}`;
const OTHER_ISSUER = 'http://127.0.0.1:1';

function discovery() {
  return {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    userinfo_endpoint: `${issuer}/userinfo`,
    jwks_uri: `${issuer}/jwks`,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    code_challenge_methods_supported: ['S256'],
    scopes_supported: ['openid', 'email', 'profile'],
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'amr', 'email', 'email_verified', 'preferred_username', 'name'],
    authorization_response_iss_parameter_supported: config.iss_param_supported,
  };
}

function record(endpoint, details) {
  state.requests.push({ endpoint, at: Date.now(), ...details });
  if (state.requests.length > 200) state.requests.shift();
}

function authorize(req, res, url) {
  const p = url.searchParams;
  const redirectUri = p.get('redirect_uri');
  record('authorize', { params: Object.fromEntries(p) });
  if (p.get('client_id') !== state.client.client_id || !state.client.redirect_uris.includes(redirectUri)) {
    // Never redirect to an unregistered URI.
    sendJson(res, 400, { error: 'invalid_request', error_description: 'unknown client or redirect_uri' });
    return;
  }
  const mode = p.get('forge_mode') ?? state.mode;
  if (!MODES.has(mode)) {
    sendJson(res, 400, { error: 'invalid_request', error_description: `unknown forge_mode ${mode}` });
    return;
  }
  const target = new URL(redirectUri);
  const answer = (params) => {
    for (const [k, v] of Object.entries(params)) target.searchParams.set(k, v);
    if (p.get('state') !== null) target.searchParams.set('state', p.get('state'));
    if (mode === 'iss_param_other') target.searchParams.set('iss', OTHER_ISSUER);
    else if (mode !== 'iss_param_missing' && config.iss_param_supported) target.searchParams.set('iss', issuer);
    redirect(res, target.href, 302);
  };
  if (p.get('response_type') !== 'code') {
    answer({ error: 'unsupported_response_type' });
    return;
  }
  if (!p.get('code_challenge') || p.get('code_challenge_method') !== 'S256') {
    answer({ error: 'invalid_request', error_description: 'PKCE S256 is required' });
    return;
  }
  if (mode === 'access_denied') {
    answer({ error: 'access_denied', error_description: 'The user said no' });
    return;
  }
  const sub = p.get('forge_sub') ?? p.get('login_hint');
  const account = (sub && state.accounts.find((a) => a.sub === sub)) || state.account;
  const code = randomBytes(16).toString('base64url');
  codes.set(code, {
    nonce: p.get('nonce'),
    challenge: p.get('code_challenge'),
    redirectUri,
    mode,
    account,
    scope: p.get('scope') ?? '',
    used: false,
    expiresAt: Date.now() + 60_000,
  });
  answer({ code });
}

async function idToken(grant, now = Math.floor(Date.now() / 1000)) {
  const { account, mode } = grant;
  const claims = {
    sub: account.sub,
    auth_time: now,
    nonce: grant.nonce,
  };
  for (const name of ['email', 'email_verified', 'preferred_username', 'name', 'amr']) {
    if (account[name] !== undefined) claims[name] = account[name];
  }
  let iss = issuer;
  let aud = state.client.client_id;
  let iat = now;
  let exp = now + 300;
  switch (mode) {
    case 'expired': iat = now - 1200; exp = now - 600; claims.auth_time = iat; break;
    case 'iat_future': iat = now + 3600; exp = now + 7200; break;
    case 'wrong_aud': aud = 'another-client'; break;
    case 'azp_other': aud = [state.client.client_id, 'another-client']; claims.azp = 'another-client'; break;
    case 'multi_aud': aud = [state.client.client_id, 'another-client']; break;
    case 'wrong_nonce': claims.nonce = 'not-the-nonce-of-this-request'; break;
    case 'no_nonce': delete claims.nonce; break;
    case 'wrong_iss': iss = OTHER_ISSUER; break;
    default: break;
  }
  if (claims.nonce === null) delete claims.nonce;
  const payload = {
    ...claims, iss, aud, iat, exp,
  };
  if (mode === 'alg_none') {
    return new UnsecuredJWT(payload).encode();
  }
  if (mode === 'hs256') {
    return new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .sign(new TextEncoder().encode(state.client.client_secret));
  }
  let signer = key.privateKey;
  let kid = key.kid;
  if (mode === 'unknown_kid') { signer = rogue.privateKey; kid = rogue.kid; }
  if (mode === 'bad_signature') { signer = rogue.privateKey; }
  return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' }).sign(signer);
}

async function token(req, res) {
  const params = await readParams(req);
  const credentials = clientCredentials(req, params);
  record('token', {
    auth_method: credentials?.method ?? 'none',
    has_code_verifier: typeof params.code_verifier === 'string',
    redirect_uri: params.redirect_uri ?? null,
    grant_type: params.grant_type ?? null,
  });
  const fail = (status, error, description) => sendJson(res, status, { error, error_description: description });
  if (!credentials || credentials.id !== state.client.client_id || credentials.secret !== state.client.client_secret) {
    fail(401, 'invalid_client', 'client authentication failed');
    return;
  }
  if (params.grant_type !== 'authorization_code') {
    fail(400, 'unsupported_grant_type', 'only authorization_code');
    return;
  }
  const grant = codes.get(params.code);
  if (!grant || grant.expiresAt < Date.now()) {
    fail(400, 'invalid_grant', 'unknown or expired code');
    return;
  }
  if (grant.used) {
    fail(400, 'invalid_grant', 'code already used');
    return;
  }
  grant.used = true;
  if (params.redirect_uri !== grant.redirectUri) {
    fail(400, 'invalid_grant', 'redirect_uri does not match');
    return;
  }
  const computed = createHash('sha256').update(params.code_verifier ?? '').digest('base64url');
  if (!params.code_verifier || computed !== grant.challenge) {
    fail(400, 'invalid_grant', 'PKCE verification failed');
    return;
  }
  const { mode } = grant;
  if (mode === 'token_error') {
    fail(400, 'invalid_grant', 'the forge refuses this code');
    return;
  }
  if (mode === 'slow') {
    await sleep(state.delay_ms);
  }
  const accessToken = randomBytes(16).toString('base64url');
  accessTokens.set(accessToken, { account: grant.account, mode });
  const body = {
    access_token: accessToken, token_type: 'Bearer', expires_in: 300, scope: grant.scope,
  };
  if (mode !== 'no_id_token') body.id_token = await idToken(grant);
  if (mode === 'huge') {
    await huge(res, body);
    return;
  }
  sendJson(res, 200, body);
}

/** A JSON token response of state.huge_bytes, streamed; stops when the client hangs up. */
async function huge(res, body) {
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  const head = JSON.stringify(body).slice(0, -1);
  res.write(`${head},"padding":"`);
  const chunk = 'a'.repeat(64 * 1024);
  let sent = head.length;
  let closed = false;
  res.on('close', () => { closed = true; });
  while (sent < state.huge_bytes && !closed) {
    if (!res.write(chunk)) {
      // eslint-disable-next-line no-await-in-loop
      await new Promise((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
    sent += chunk.length;
  }
  if (!closed) res.end('"}');
}

function userinfo(req, res) {
  const found = accessTokens.get(bearer(req));
  record('userinfo', { authorized: Boolean(found) });
  if (!found) {
    res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' });
    res.end();
    return;
  }
  const { account, mode } = found;
  const claims = { sub: mode === 'userinfo_other_sub' ? `${account.sub}-someone-else` : account.sub };
  for (const name of ['email', 'email_verified', 'preferred_username', 'name']) {
    if (account[name] !== undefined) claims[name] = account[name];
  }
  sendJson(res, 200, claims);
}

async function control(req, res) {
  if (req.method === 'POST' || req.method === 'PUT') {
    const body = await readParams(req);
    if (body.mode !== undefined) {
      if (!MODES.has(body.mode)) {
        sendJson(res, 400, { error: `unknown mode ${body.mode}`, modes: [...MODES] });
        return;
      }
      state.mode = body.mode;
    }
    if (body.account !== undefined) {
      state.account = body.account;
      state.accounts = [body.account, ...state.accounts.filter((a) => a.sub !== body.account.sub)];
    }
    if (body.accounts !== undefined) state.accounts = body.accounts;
    if (body.delay_ms !== undefined) state.delay_ms = Number(body.delay_ms);
    if (body.huge_bytes !== undefined) state.huge_bytes = Number(body.huge_bytes);
    if (body.client !== undefined) state.client = { ...state.client, ...body.client };
    if (body.redirect_uris !== undefined) state.client.redirect_uris = body.redirect_uris;
    if (body.rotate) {
      generation += 1;
      key = await newKey(`forge-${generation}`);
    }
    if (body.clear_requests) state.requests = [];
  }
  sendJson(res, 200, { ...state, kid: key.kid, issuer });
}

server.on('request', guarded(async (req, res) => {
  const url = new URL(req.url, issuer);
  const route = `${req.method} ${url.pathname}`;
  switch (route) {
    case 'GET /.well-known/openid-configuration':
      record('discovery', {});
      sendJson(res, 200, discovery(), { 'cache-control': 'max-age=0' });
      break;
    case 'GET /jwks':
      record('jwks', {});
      sendJson(res, 200, { keys: [key.publicJwk] });
      break;
    case 'GET /authorize':
      authorize(req, res, url);
      break;
    case 'POST /token':
      await token(req, res);
      break;
    case 'GET /userinfo':
    case 'POST /userinfo':
      userinfo(req, res);
      break;
    default:
      if (url.pathname === '/control' || url.pathname === '/__test/control') {
        await control(req, res);
      } else {
        sendJson(res, 404, { error: 'not_found' });
      }
  }
}));

announce(issuer);
