import { strict as assert } from 'node:assert';
import { get } from 'node:http';
import { after, before, test } from 'node:test';

import {
  Browser, basic, formAction, pkce, start,
} from './harness.js';

const REDIRECT = 'http://127.0.0.1:9/api/federation/github/callback';
let gh;

before(async () => {
  gh = await start('github.js', {
    client_id: 'gh-client',
    client_secret: 'gh-secret',
    redirect_uris: [REDIRECT],
    users: [
      { id: 42, login: 'octo', name: 'Octo', email: null, emails: [{ email: 'octo@example.com', primary: true, verified: true }] },
      {
        id: 43,
        login: 'unverified',
        emails: [
          { email: 'primary@example.com', primary: true, verified: false },
          { email: 'other@example.com', primary: false, verified: true },
        ],
      },
    ],
  });
});
after(() => gh.stop());

async function signIn(login, { challenge } = {}) {
  const url = new URL(`${gh.base}/login/oauth/authorize`);
  url.searchParams.set('client_id', 'gh-client');
  url.searchParams.set('redirect_uri', REDIRECT);
  url.searchParams.set('scope', 'read:user user:email');
  url.searchParams.set('state', 'xyz');
  if (challenge) {
    url.searchParams.set('code_challenge', challenge);
    url.searchParams.set('code_challenge_method', 'S256');
  }
  const browser = new Browser();
  const page = await browser.get(url);
  assert.equal(page.status, 200);
  const response = await browser.post(formAction(await page.text(), gh.base), { login });
  assert.equal(response.status, 302);
  const location = new URL(response.headers.get('location'));
  assert.ok(location.href.startsWith(REDIRECT));
  assert.equal(location.searchParams.get('state'), 'xyz');
  return location.searchParams.get('code');
}

async function exchange(code, extra = {}, headers = { accept: 'application/json', authorization: basic('gh-client', 'gh-secret') }) {
  const response = await fetch(`${gh.base}/login/oauth/access_token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ code, redirect_uri: REDIRECT, ...extra }),
  });
  return response;
}

const api = (path, token) => fetch(`${gh.base}${path}`, {
  headers: { authorization: `Bearer ${token}`, 'user-agent': 'latchkey-test' },
});

test('the web flow gives a token; the API answers with a numeric id and the emails', async () => {
  const code = await signIn('octo');
  const body = await (await exchange(code)).json();
  assert.equal(body.token_type, 'bearer');
  assert.equal(body.scope, 'read:user,user:email');
  const user = await (await api('/user', body.access_token)).json();
  assert.equal(user.id, 42);
  assert.equal(user.login, 'octo');
  const emails = await (await api('/api/v3/user/emails', body.access_token)).json();
  assert.deepEqual(emails, [{ email: 'octo@example.com', primary: true, verified: true, visibility: null }]);
  // fetch always sends a User-Agent; node:http sends none unless told.
  const noAgent = await new Promise((resolve) => {
    get(`${gh.base}/user`, { headers: { authorization: `Bearer ${body.access_token}` } }, resolve);
  });
  noAgent.resume();
  assert.equal(noAgent.statusCode, 403);
  assert.equal((await api('/user', 'nope')).status, 401);
  // Replay of the code: GitHub's 200 with an error.
  const again = await (await exchange(code)).json();
  assert.equal(again.error, 'bad_verification_code');
});

test('client_secret_post, a form-encoded answer without Accept, and PKCE', async () => {
  const { verifier, challenge } = pkce();
  const code = await signIn('unverified', { challenge });
  const wrong = await (await exchange(code, { code_verifier: 'x'.repeat(43), client_id: 'gh-client', client_secret: 'gh-secret' }, { accept: 'application/json' })).json();
  assert.equal(wrong.error, 'bad_verification_code');
  const code2 = await signIn('unverified', { challenge });
  const response = await exchange(code2, { code_verifier: verifier, client_id: 'gh-client', client_secret: 'gh-secret' }, {});
  assert.match(response.headers.get('content-type'), /x-www-form-urlencoded/);
  const token = new URLSearchParams(await response.text()).get('access_token');
  const emails = await (await api('/user/emails', token)).json();
  assert.equal(emails.find((e) => e.primary).verified, false);
});

test('a wrong secret or a foreign redirect_uri is refused', async () => {
  const code = await signIn('octo');
  const bad = await (await exchange(code, {}, { accept: 'application/json', authorization: basic('gh-client', 'nope') })).json();
  assert.equal(bad.error, 'incorrect_client_credentials');
  const url = `${gh.base}/login/oauth/authorize?client_id=gh-client&redirect_uri=${encodeURIComponent('http://evil.example/cb')}`;
  assert.equal((await fetch(url, { redirect: 'manual' })).status, 400);
});
