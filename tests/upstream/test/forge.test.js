import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';

import { createRemoteJWKSet, jwtVerify } from 'jose';

import {
  basic, claimsOf, headerOf, pkce, start,
} from './harness.js';

const REDIRECT = 'http://127.0.0.1:9/api/federation/forge/callback';
let forge;

before(async () => {
  forge = await start('forge.js', { client_id: 'latchkey', client_secret: 's', redirect_uris: [REDIRECT] });
});
after(() => forge.stop());

async function control(body) {
  const response = await fetch(`${forge.base}/control`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  assert.equal(response.status, 200);
  return response.json();
}

async function flow(mode, { exchange = true } = {}) {
  const { verifier, challenge } = pkce();
  const url = new URL(`${forge.base}/authorize`);
  const params = {
    response_type: 'code', client_id: 'latchkey', redirect_uri: REDIRECT, scope: 'openid email', state: 'st',
    nonce: 'n-1', code_challenge: challenge, code_challenge_method: 'S256',
  };
  if (mode) params.forge_mode = mode;
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  const response = await fetch(url, { redirect: 'manual' });
  assert.equal(response.status, 302);
  const back = new URL(response.headers.get('location'));
  if (!exchange) return { back };
  const started = Date.now();
  const token = await fetch(`${forge.base}/token`, {
    method: 'POST',
    headers: { authorization: basic('latchkey', 's'), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code', code: back.searchParams.get('code'), redirect_uri: REDIRECT, code_verifier: verifier,
    }),
  });
  const text = await token.text();
  return {
    back, status: token.status, text, body: text.length < 100000 ? JSON.parse(text) : undefined, ms: Date.now() - started,
  };
}

const jwks = () => createRemoteJWKSet(new URL(`${forge.base}/jwks`));

test('mode ok mints a valid ID token; the code works once', async () => {
  const { back, body } = await flow();
  assert.equal(back.searchParams.get('iss'), forge.base);
  assert.equal(back.searchParams.get('state'), 'st');
  const { payload } = await jwtVerify(body.id_token, jwks(), { issuer: forge.base, audience: 'latchkey' });
  assert.equal(payload.nonce, 'n-1');
  assert.equal(payload.email_verified, true);
});

test('each defect is the one asked for', async () => {
  const now = Math.floor(Date.now() / 1000);
  const cases = {
    unknown_kid: (t) => assert.equal(headerOf(t).kid, 'rogue'),
    expired: (t) => assert.ok(claimsOf(t).exp < now),
    iat_future: (t) => assert.ok(claimsOf(t).iat > now + 60),
    wrong_aud: (t) => assert.equal(claimsOf(t).aud, 'another-client'),
    azp_other: (t) => assert.equal(claimsOf(t).azp, 'another-client'),
    wrong_nonce: (t) => assert.notEqual(claimsOf(t).nonce, 'n-1'),
    no_nonce: (t) => assert.equal(claimsOf(t).nonce, undefined),
    wrong_iss: (t) => assert.notEqual(claimsOf(t).iss, forge.base),
    alg_none: (t) => assert.equal(headerOf(t).alg, 'none'),
    hs256: (t) => assert.equal(headerOf(t).alg, 'HS256'),
  };
  for (const [mode, check] of Object.entries(cases)) {
    const { body } = await flow(mode);
    check(body.id_token);
    if (['unknown_kid', 'expired', 'wrong_aud', 'wrong_iss'].includes(mode)) {
      const verified = await jwtVerify(body.id_token, jwks(), { issuer: forge.base, audience: 'latchkey' }).then(() => true, () => false);
      assert.equal(verified, false, mode);
    }
  }
  const bad = await flow('bad_signature');
  assert.equal(headerOf(bad.body.id_token).kid, headerOf((await flow()).body.id_token).kid);
  await assert.rejects(jwtVerify(bad.body.id_token, jwks()));
});

test('authorization response defects', async () => {
  assert.equal((await flow('iss_param_other', { exchange: false })).back.searchParams.get('iss'), 'http://127.0.0.1:1');
  assert.equal((await flow('iss_param_missing', { exchange: false })).back.searchParams.has('iss'), false);
  const denied = (await flow('access_denied', { exchange: false })).back.searchParams;
  assert.equal(denied.get('error'), 'access_denied');
  assert.equal(denied.get('state'), 'st');
});

test('slow, huge, token_error, and the control endpoint', async () => {
  await control({ delay_ms: 300 });
  const slow = await flow('slow');
  assert.ok(slow.ms >= 290, String(slow.ms));
  await control({ huge_bytes: 2 * 1024 * 1024 });
  const huge = await flow('huge');
  assert.ok(huge.text.length >= 2 * 1024 * 1024);
  assert.ok(JSON.parse(huge.text).id_token);
  const refused = await flow('token_error');
  assert.equal(refused.status, 400);
  const state = await control({ mode: 'expired' });
  assert.equal(state.mode, 'expired');
  const { body } = await flow();
  assert.ok(claimsOf(body.id_token).exp < Date.now() / 1000);
  const before = (await control({ mode: 'ok' })).kid;
  const after = (await control({ rotate: true })).kid;
  assert.notEqual(before, after);
  const rotated = await flow();
  assert.equal(headerOf(rotated.body.id_token).kid, after);
  const seen = await (await fetch(`${forge.base}/control`)).json();
  const lastToken = seen.requests.filter((r) => r.endpoint === 'token').at(-1);
  assert.equal(lastToken.auth_method, 'client_secret_basic');
  assert.equal(lastToken.has_code_verifier, true);
});
