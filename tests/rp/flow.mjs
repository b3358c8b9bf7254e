// A relying party of latchkey's OpenID Provider, built on openid-client (a certified RP
// library), that walks the whole authorization code flow with PKCE and prints what it saw.
//
//   node flow.mjs --issuer http://127.0.0.1:PORT --client-id ID --client-secret SECRET \
//     --redirect-uri http://127.0.0.1:9/callback --post-logout-redirect-uri http://127.0.0.1:9/bye \
//     --username ada --password … [--scope "openid email"] [--id-token-alg RS256|EdDSA]
//
// The browser part (authorize → /login?oauth=<id> → POST /api/login → POST accept →
// redirect_to) is plain fetch with a cookie jar, as the web app's pages would do it.
// Everything the library checks (ID token signature against the JWKS, iss, aud, azp, exp,
// nonce, RFC 9207 `iss` in the authorization response, state) is checked by it; what it
// leaves to the caller (at_hash, the refresh rotation, reuse, revocation, logout) is checked
// here. One JSON line on stdout: `{"ok":true,…}`, or `{"ok":false,"step","error"}` and exit 1.

import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import * as client from 'openid-client';

const { values: args } = parseArgs({
  options: {
    issuer: { type: 'string' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    'redirect-uri': { type: 'string' },
    'post-logout-redirect-uri': { type: 'string' },
    username: { type: 'string' },
    password: { type: 'string' },
    scope: { type: 'string', default: 'openid email profile roles offline_access' },
    'id-token-alg': { type: 'string', default: 'RS256' },
  },
  strict: true,
});

for (const name of ['issuer', 'client-id', 'client-secret', 'redirect-uri', 'username', 'password']) {
  if (!args[name]) {
    console.error(`flow.mjs: --${name} is required`);
    process.exit(2);
  }
}

let step = 'start';
const out = { ok: true };

/** The cookies latchkey set, sent back to latchkey's origin only (a browser's jar, minus paths). */
class CookieJar {
  constructor(origin) {
    this.origin = origin;
    this.cookies = new Map();
  }

  store(url, response) {
    if (new URL(url).origin !== this.origin) return;
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const gone = attributes.some((a) => {
        const [k, v = ''] = a.trim().split('=');
        const key = k.toLowerCase();
        return (key === 'max-age' && Number(v) <= 0) || (key === 'expires' && Date.parse(v) < Date.now());
      });
      if (gone || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(url) {
    if (new URL(url).origin !== this.origin) return undefined;
    if (this.cookies.size === 0) return undefined;
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

const issuer = args.issuer.replace(/\/$/, '');
const jar = new CookieJar(new URL(issuer).origin);

/** One request of the "browser": cookies in and out, redirects not followed. */
async function browser(url, { method = 'GET', json, origin = false } = {}) {
  const headers = {};
  const cookie = jar.header(url);
  if (cookie) headers.cookie = cookie;
  if (origin) headers.origin = new URL(issuer).origin;
  let body;
  if (json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(json);
  }
  const response = await fetch(url, { method, headers, body, redirect: 'manual' });
  jar.store(url, response);
  return response;
}

async function expectStatus(response, status, what) {
  if (response.status !== status) {
    const text = await response.text().catch(() => '');
    throw new Error(`${what}: expected ${status}, got ${response.status}: ${text.slice(0, 500)}`);
  }
}

function locationOf(response, base) {
  const location = response.headers.get('location');
  if (!location) throw new Error(`no Location in a ${response.status} answer`);
  return new URL(location, base);
}

/** OIDC Core §3.1.3.6: the left half of the hash of the access token, base64url. */
function expectedAtHash(accessToken, alg) {
  const hash = { RS256: 'sha256', ES256: 'sha256', PS256: 'sha256', EdDSA: 'sha512' }[alg];
  if (!hash) throw new Error(`no at_hash rule for alg ${alg}`);
  const digest = createHash(hash).update(accessToken, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

function jwtHeader(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString());
}

/** The OAuth error code of a refused grant (openid-client's ResponseBodyError), or throws. */
async function refusal(promise, what) {
  try {
    await promise;
  } catch (err) {
    if (err instanceof client.ResponseBodyError) return err.error;
    throw new Error(`${what}: failed otherwise than with an OAuth error: ${err?.message ?? err}`);
  }
  throw new Error(`${what}: succeeded, but it must be refused`);
}

/**
 * The browser's part of one authorization: the authorize URL, then login and consent when
 * latchkey asks for them; the URL latchkey finally sends the browser to (redirect_uri?code…).
 */
async function authorize(authorizationUrl) {
  const trail = { login: false, consent_request: null };
  let response = await browser(authorizationUrl.href);
  if (![302, 303].includes(response.status)) {
    await expectStatus(response, 302, 'GET /oauth2/authorize');
  }
  let next = locationOf(response, issuer);
  if (next.href.startsWith(args['redirect-uri'])) return { callback: next, trail };
  if (next.origin !== new URL(issuer).origin || !['/login', '/consent'].includes(next.pathname)) {
    throw new Error(`authorize sent the browser to ${next.href}`);
  }
  const id = next.searchParams.get('oauth');
  if (!id) throw new Error(`no oauth=<request id> in ${next.href}`);

  response = await browser(`${issuer}/api/oauth2/requests/${encodeURIComponent(id)}`);
  await expectStatus(response, 200, 'GET /api/oauth2/requests/{id}');
  trail.consent_request = await response.json();

  if (next.pathname === '/login') {
    trail.login = true;
    response = await browser(`${issuer}/api/login`, {
      method: 'POST',
      origin: true,
      json: { username: args.username, password: args.password },
    });
    await expectStatus(response, 200, 'POST /api/login');
  }
  response = await browser(`${issuer}/api/oauth2/requests/${encodeURIComponent(id)}/accept`, {
    method: 'POST',
    origin: true,
    json: {},
  });
  await expectStatus(response, 200, 'POST /api/oauth2/requests/{id}/accept');
  const { redirect_to: redirectTo } = await response.json();
  if (typeof redirectTo !== 'string') throw new Error('accept answered without redirect_to');
  return { callback: new URL(redirectTo), trail };
}

async function main() {
  step = 'discovery';
  const config = await client.discovery(
    new URL(issuer),
    args['client-id'],
    {
      client_secret: args['client-secret'],
      require_auth_time: true,
      id_token_signed_response_alg: args['id-token-alg'],
    },
    client.ClientSecretBasic(args['client-secret']),
    { execute: [client.allowInsecureRequests] },
  );
  // ID tokens from the token endpoint are verified against the JWKS too (by default
  // openid-client trusts the TLS channel and skips their signatures).
  client.enableNonRepudiationChecks(config);
  const metadata = config.serverMetadata();
  out.discovery = {
    issuer: metadata.issuer,
    iss_parameter: metadata.authorization_response_iss_parameter_supported === true,
  };

  step = 'authorize';
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authorizationUrl = client.buildAuthorizationUrl(config, {
    redirect_uri: args['redirect-uri'],
    scope: args.scope,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  const first = await authorize(authorizationUrl);
  out.authorize = {
    login: first.trail.login,
    request: first.trail.consent_request,
    callback_params: Object.fromEntries(first.callback.searchParams),
  };

  step = 'authorization_code grant';
  const tokens = await client.authorizationCodeGrant(config, first.callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  const idClaims = tokens.claims();
  const idHeader = jwtHeader(tokens.id_token);
  if (idClaims.at_hash !== expectedAtHash(tokens.access_token, idHeader.alg)) {
    throw new Error(`at_hash ${idClaims.at_hash} does not match the access token`);
  }
  out.tokens = {
    token_type: tokens.token_type,
    scope: tokens.scope,
    expires_in: tokens.expires_in,
    has_refresh_token: typeof tokens.refresh_token === 'string',
    id_token_header: idHeader,
    access_token_header: jwtHeader(tokens.access_token),
  };
  out.id_token = idClaims;

  step = 'userinfo';
  out.userinfo = await client.fetchUserInfo(config, tokens.access_token, idClaims.sub);

  step = 'refresh_token grant';
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  out.refresh = {
    rotated: typeof refreshed.refresh_token === 'string' && refreshed.refresh_token !== tokens.refresh_token,
    new_access_token: refreshed.access_token !== tokens.access_token,
    id_token_sub: refreshed.claims()?.sub ?? null,
    scope: refreshed.scope,
  };
  step = 'userinfo with the refreshed access token';
  out.refresh.userinfo_sub = (await client.fetchUserInfo(config, refreshed.access_token, idClaims.sub)).sub;

  step = 'refresh token reuse';
  out.reuse = { error: await refusal(client.refreshTokenGrant(config, tokens.refresh_token), 'reusing a refresh token') };
  step = 'the newest refresh token after the reuse';
  out.reuse.newest_refresh_error = await refusal(
    client.refreshTokenGrant(config, refreshed.refresh_token),
    'the refresh token issued before a reuse',
  );

  // A second authorization in the same browser: logged in, consent remembered, so latchkey
  // answers with a code at once; its tokens are the ones revoked below.
  step = 'second authorization';
  const verifier2 = client.randomPKCECodeVerifier();
  const state2 = client.randomState();
  const nonce2 = client.randomNonce();
  const second = await authorize(
    client.buildAuthorizationUrl(config, {
      redirect_uri: args['redirect-uri'],
      scope: args.scope,
      code_challenge: await client.calculatePKCECodeChallenge(verifier2),
      code_challenge_method: 'S256',
      state: state2,
      nonce: nonce2,
    }),
  );
  out.second_authorization = { silent: !second.trail.login && second.trail.consent_request === null };
  const tokens2 = await client.authorizationCodeGrant(config, second.callback, {
    pkceCodeVerifier: verifier2,
    expectedState: state2,
    expectedNonce: nonce2,
    idTokenExpected: true,
  });
  out.second_authorization.sub = tokens2.claims().sub;

  step = 'introspection';
  const active = await client.tokenIntrospection(config, tokens2.access_token);
  step = 'revocation';
  await client.tokenRevocation(config, tokens2.refresh_token, { token_type_hint: 'refresh_token' });
  step = 'userinfo after revocation';
  let userinfoAfter;
  try {
    await client.fetchUserInfo(config, tokens2.access_token, idClaims.sub);
    userinfoAfter = 'accepted';
  } catch (err) {
    userinfoAfter = typeof err?.status === 'number' ? err.status : `${err?.name}: ${err?.message}`;
  }
  step = 'introspection after revocation';
  const inactive = await client.tokenIntrospection(config, tokens2.access_token);
  out.revocation = {
    introspection_before: { active: active.active, sub: active.sub, client_id: active.client_id, scope: active.scope },
    userinfo_status_after: userinfoAfter,
    introspection_active_after: inactive.active,
    refresh_error_after: await refusal(client.refreshTokenGrant(config, tokens2.refresh_token), 'a revoked refresh token'),
  };

  step = 'logout';
  const logoutState = client.randomState();
  const endSession = client.buildEndSessionUrl(config, {
    id_token_hint: tokens2.id_token,
    ...(args['post-logout-redirect-uri'] && { post_logout_redirect_uri: args['post-logout-redirect-uri'] }),
    state: logoutState,
  });
  const me = await browser(`${issuer}/api/me`);
  const loggedInBefore = me.status;
  const response = await browser(endSession.href);
  const location = response.headers.get('location');
  const back = location ? new URL(location, issuer) : null;
  out.logout = {
    status: response.status,
    location,
    state_returned: back?.searchParams.get('state') === logoutState,
    me_status_before: loggedInBefore,
    me_status_after: (await browser(`${issuer}/api/me`)).status,
  };
}

function describe(cause) {
  if (cause === undefined || cause === null) return undefined;
  if (cause instanceof Error) return `${cause.name}: ${cause.message}${cause.code ? ` (${cause.code})` : ''}`;
  try {
    return JSON.stringify(cause).slice(0, 1000);
  } catch {
    return String(cause);
  }
}

try {
  await main();
  console.log(JSON.stringify(out));
} catch (err) {
  const detail = {
    ok: false,
    step,
    error: err?.message ?? String(err),
    code: err?.code,
    oauth_error: err?.error,
    cause: describe(err?.cause),
  };
  console.log(JSON.stringify(detail));
  console.error(`flow.mjs failed at ${step}: ${err?.stack ?? err}`);
  process.exit(1);
}
