import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';

import { createRemoteJWKSet, jwtVerify } from 'jose';

import {
  Browser, basic, claimsOf, formAction, pkce, start,
} from './harness.js';

const REDIRECT = 'http://127.0.0.1:9/api/federation/test/callback';
let op;
let discovery;

before(async () => {
  op = await start('oidc.js', {
    client_id: 'latchkey',
    client_secret: 's3cret',
    redirect_uris: [REDIRECT],
    accounts: [
      { sub: 'ada-1', email: 'ada@example.com', email_verified: true, preferred_username: 'ada' },
      { sub: 'bob-2', email: 'bob@example.com', email_verified: false, amr: ['pwd', 'otp'] },
    ],
  });
  discovery = await (await fetch(`${op.base}/.well-known/openid-configuration`)).json();
});
after(() => op.stop());

async function authorize(browser, { login = 'ada-1', extra = {} } = {}) {
  const { verifier, challenge } = pkce();
  const url = new URL(discovery.authorization_endpoint);
  const params = {
    response_type: 'code', client_id: 'latchkey', redirect_uri: REDIRECT, scope: 'openid email profile',
    state: 'st', nonce: 'nn', code_challenge: challenge, code_challenge_method: 'S256', ...extra,
  };
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  let response = await browser.get(url);
  let loggedIn = false;
  for (let hops = 0; hops < 10; hops += 1) {
    assert.ok([302, 303].includes(response.status) || response.status === 200, `status ${response.status}`);
    if (response.status === 200) {
      const html = await response.text();
      response = await browser.post(formAction(html, response.url || op.base), { login, password: 'x' });
      loggedIn = true;
      continue;
    }
    const location = new URL(response.headers.get('location'), op.base);
    if (location.href.startsWith(REDIRECT)) {
      return { params: location.searchParams, verifier, loggedIn };
    }
    response = await browser.get(location);
  }
  throw new Error('too many redirects');
}

async function token(code, verifier, auth = basic('latchkey', 's3cret')) {
  const response = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier,
    }),
  });
  return { status: response.status, body: await response.json() };
}

test('discovery advertises RFC 9207 and S256', () => {
  assert.equal(discovery.issuer, op.base);
  assert.equal(discovery.authorization_response_iss_parameter_supported, true);
  assert.deepEqual(discovery.code_challenge_methods_supported, ['S256']);
});

test('a login through the form gives a code, iss, and an ID token with the email claims', async () => {
  const browser = new Browser();
  const { params, verifier, loggedIn } = await authorize(browser);
  assert.ok(loggedIn);
  assert.equal(params.get('state'), 'st');
  assert.equal(params.get('iss'), op.base);
  const { status, body } = await token(params.get('code'), verifier);
  assert.equal(status, 200, JSON.stringify(body));
  const { payload } = await jwtVerify(body.id_token, createRemoteJWKSet(new URL(discovery.jwks_uri)), {
    issuer: op.base, audience: 'latchkey',
  });
  assert.equal(payload.sub, 'ada-1');
  assert.equal(payload.nonce, 'nn');
  assert.equal(payload.email, 'ada@example.com');
  assert.equal(payload.email_verified, true);
  assert.equal(payload.preferred_username, 'ada');
  assert.ok(payload.auth_time);
  const userinfo = await (await fetch(discovery.userinfo_endpoint, { headers: { authorization: `Bearer ${body.access_token}` } })).json();
  assert.equal(userinfo.sub, 'ada-1');

  // The code once more: refused.
  const again = await token(params.get('code'), verifier);
  assert.equal(again.status, 400);
  assert.equal(again.body.error, 'invalid_grant');
});

test('PKCE is required and checked', async () => {
  const browser = new Browser();
  const { params } = await authorize(browser);
  const wrong = await token(params.get('code'), 'a'.repeat(43));
  assert.equal(wrong.status, 400);
  assert.equal(wrong.body.error, 'invalid_grant');
  const url = new URL(discovery.authorization_endpoint);
  for (const [k, v] of Object.entries({
    response_type: 'code', client_id: 'latchkey', redirect_uri: REDIRECT, scope: 'openid', state: 's',
  })) url.searchParams.set(k, v);
  const response = await new Browser().get(url);
  assert.equal(response.status, 303);
  const location = new URL(response.headers.get('location'));
  assert.equal(location.searchParams.get('error'), 'invalid_request');
});

test('an existing session signs in silently; prompt=login and max_age=0 ask again with a newer auth_time', async () => {
  const browser = new Browser();
  const first = await authorize(browser);
  const t1 = claimsOf((await token(first.params.get('code'), first.verifier)).body.id_token).auth_time;
  const silent = await authorize(browser);
  assert.equal(silent.loggedIn, false);
  await new Promise((r) => { setTimeout(r, 1100); });
  for (const extra of [{ prompt: 'login' }, { max_age: '0' }]) {
    const fresh = await authorize(browser, { extra });
    assert.equal(fresh.loggedIn, true, JSON.stringify(extra));
    const claims = claimsOf((await token(fresh.params.get('code'), fresh.verifier)).body.id_token);
    assert.ok(claims.auth_time > t1, JSON.stringify(extra));
  }
});

test('amr of an account is in the ID token; the client secret is checked', async () => {
  const { params, verifier } = await authorize(new Browser(), { login: 'bob-2' });
  const bad = await token(params.get('code'), verifier, basic('latchkey', 'nope'));
  assert.equal(bad.status, 401);
  const { body } = await token(params.get('code'), verifier);
  const claims = claimsOf(body.id_token);
  assert.deepEqual(claims.amr, ['pwd', 'otp']);
  assert.equal(claims.email_verified, false);
});

test('the redirect URI can be set after start', async () => {
  const response = await fetch(`${op.base}/__test/client`, {
    method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect_uris: [REDIRECT, 'http://127.0.0.1:10/cb'] }),
  });
  assert.equal(response.status, 200);
  assert.deepEqual((await response.json()).redirect_uris, [REDIRECT, 'http://127.0.0.1:10/cb']);
});
