#!/usr/bin/env node
// Drives tests/oidc/provider.mjs alone, as a relying party without a browser would:
// discovery, JWKS, authorization with PKCE S256 + state + nonce, the sign-in form,
// the code exchange, ID token verification; then the refusals (replayed code, wrong
// code_verifier, ...) and the hostile property of each attack user's ID token.
//
//   node tests/oidc/smoke.mjs
//
// Prints one line per check and ends with `N passed, N failed` (exit 1 on a failure).

import { spawn } from 'node:child_process';
import { createHash, createPublicKey, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as jose from 'jose';

const here = dirname(fileURLToPath(import.meta.url));
const PASSWORD = 'provider-password';
const CLIENT_ID = 'smoke-client';
// Characters that client_secret_basic must form-urlencode before base64 (RFC 6749 §2.3.1).
const CLIENT_SECRET = `s3cret:+/%&=${randomBytes(12).toString('base64url')}`;
const REDIRECT_URI = 'http://127.0.0.1:9/v1/auth/oidc/smoke/callback';
const OTHER_REDIRECT_URI = 'http://127.0.0.1:9/second/callback';

// ---------------------------------------------------------------- reporting

let passed = 0;
let failed = 0;
function check(name, ok, detail) {
  if (ok) {
    passed += 1;
    console.log(`ok - ${name}`);
  } else {
    failed += 1;
    console.log(`FAIL - ${name}${detail === undefined ? '' : `: ${detail}`}`);
  }
}
async function step(name, fn) {
  try {
    const detail = await fn();
    check(name, detail === undefined || detail === true, detail === false ? undefined : detail);
  } catch (err) {
    check(name, false, err?.stack ?? String(err));
  }
}
const assert = (cond, message) => { if (!cond) throw new Error(message); };

// ---------------------------------------------------------------- provider process

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const children = [];
async function startProvider(extra = []) {
  const port = await freePort();
  const child = spawn(process.execPath, [
    join(here, 'provider.mjs'), '--port', String(port), '--quiet',
    '--client-id', CLIENT_ID, '--client-secret', CLIENT_SECRET,
    '--redirect-uri', REDIRECT_URI, '--redirect-uri', OTHER_REDIRECT_URI, ...extra,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const issuer = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`provider not ready in 20 s; stderr:\n${stderr}`)), 20000);
    child.stdout.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('ready '));
      if (line) { clearTimeout(timer); resolve(line.slice('ready '.length).trim()); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`provider exited ${code}; stderr:\n${stderr}`)); });
  });
  return { issuer, child, stdout: () => stderr };
}
function stopAll() {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
}
process.on('exit', stopAll);

// ---------------------------------------------------------------- HTTP client with a cookie jar

// Keeps the provider's cookies the way a plain HTTP client (ureq with a cookie store)
// does: host-only cookies, RFC 6265 path matching, expiry deletes.
class CookieJar {
  cookies = new Map(); // `${path}\0${name}` -> {name, value, path}

  store(requestUrl, setCookies) {
    for (const line of setCookies) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path;
      let expired = false;
      for (const attr of attrs) {
        const [k, v = ''] = attr.split('=');
        const key = k.trim().toLowerCase();
        if (key === 'path' && v.startsWith('/')) path = v.trim();
        if (key === 'expires' && Date.parse(v) <= Date.now()) expired = true;
        if (key === 'max-age' && Number(v) <= 0) expired = true;
      }
      if (!path) {
        const p = new URL(requestUrl).pathname;
        path = p.lastIndexOf('/') > 0 ? p.slice(0, p.lastIndexOf('/')) : '/';
      }
      const key = `${path}\0${name}`;
      if (expired) this.cookies.delete(key);
      else this.cookies.set(key, { name, value, path });
    }
  }

  header(url) {
    const { pathname } = new URL(url);
    const matches = [...this.cookies.values()].filter(({ path }) => pathname === path
      || (pathname.startsWith(path) && (path.endsWith('/') || pathname[path.length] === '/')));
    return matches.map(({ name, value }) => `${name}=${value}`).join('; ');
  }

  names() { return [...this.cookies.values()].map((c) => `${c.name}@${c.path}`); }
}

async function request(jar, url, { method = 'GET', form, headers = {} } = {}) {
  const h = { ...headers };
  const cookie = jar?.header(url);
  if (cookie) h.cookie = cookie;
  let body;
  if (form) {
    h['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(form).toString();
  }
  const res = await fetch(url, { method, headers: h, body, redirect: 'manual' });
  jar?.store(url, res.headers.getSetCookie());
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    text,
    location: res.headers.get('location') ? new URL(res.headers.get('location'), url).href : undefined,
  };
}

// ---------------------------------------------------------------- relying-party steps

const b64sha256 = (s) => createHash('sha256').update(s).digest('base64url');
const subFor = (email) => createHash('sha256').update(email).digest('hex').slice(0, 32);
const random = () => randomBytes(32).toString('base64url');

function authorizeUrl(meta, params) {
  const url = new URL(meta.authorization_endpoint);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
  return url.href;
}

// The whole browserless sign-in: returns the callback URL the provider redirected to.
async function signIn(meta, email, {
  jar = new CookieJar(), password = PASSWORD, redirectUri = REDIRECT_URI, prompt, trace,
} = {}) {
  const verifier = random();
  const state = random();
  const nonce = random();
  const url = authorizeUrl(meta, {
    response_type: 'code',
    client_id: CLIENT_ID,
    redirect_uri: redirectUri,
    scope: 'openid email profile',
    state,
    nonce,
    code_challenge: b64sha256(verifier),
    code_challenge_method: 'S256',
    prompt,
  });
  const steps = [];
  let res = await request(jar, url);
  steps.push({ method: 'GET', url, status: res.status, location: res.location, cookies: jar.names() });
  // Follow redirects at the provider until it sends us to the redirect URI; at the
  // interaction page, post the sign-in form.
  for (let hops = 0; hops < 10; hops += 1) {
    if (res.status === 303 || res.status === 302) {
      const next = res.location;
      if (!next.startsWith(meta.issuer)) break; // the redirect URI: not served, captured
      res = await request(jar, next);
      steps.push({ method: 'GET', url: next, status: res.status, location: res.location, cookies: jar.names() });
    } else if (res.status === 200 && /<form method="post" action="([^"]+)"/.test(res.text)) {
      const action = new URL(/<form method="post" action="([^"]+)"/.exec(res.text)[1].replace(/&#38;/g, '&'), steps.at(-1).url).href;
      res = await request(jar, action, { method: 'POST', form: { login: email, password } });
      steps.push({ method: 'POST', url: action, status: res.status, location: res.location, cookies: jar.names() });
      if (res.status !== 303) break;
    } else {
      break;
    }
  }
  if (trace) trace.push(...steps);
  const callback = res.location ? new URL(res.location) : undefined;
  return {
    verifier, state, nonce, jar, steps, last: res, callback,
    code: callback?.searchParams.get('code'),
  };
}

async function exchange(meta, code, verifier, { auth = 'basic', secret = CLIENT_SECRET, redirectUri = REDIRECT_URI } = {}) {
  const form = { grant_type: 'authorization_code', code, redirect_uri: redirectUri };
  if (verifier !== undefined) form.code_verifier = verifier;
  const headers = { accept: 'application/json' };
  if (auth === 'basic') {
    const enc = (s) => encodeURIComponent(s); // form-urlencoding of the id and secret
    headers.authorization = `Basic ${Buffer.from(`${enc(CLIENT_ID)}:${enc(secret)}`).toString('base64')}`;
  } else {
    Object.assign(form, { client_id: CLIENT_ID, client_secret: secret });
  }
  const res = await request(undefined, meta.token_endpoint, { method: 'POST', form, headers });
  let json;
  try { json = JSON.parse(res.text); } catch { json = undefined; }
  return { ...res, json };
}

// ---------------------------------------------------------------- the checks

const keysDir = mkdtempSync(join(tmpdir(), 'oidc-smoke-'));
const keysFile = join(keysDir, 'provider-keys.json');

try {
  const { issuer } = await startProvider(['--write-keys', keysFile]);
  let meta;
  let jwks;
  let JWKS;

  await step('discovery document names the issuer and its endpoints', async () => {
    const res = await request(undefined, `${issuer}/.well-known/openid-configuration`);
    assert(res.status === 200, `status ${res.status}`);
    meta = JSON.parse(res.text);
    assert(meta.issuer === issuer, `issuer ${meta.issuer}`);
    for (const ep of ['authorization_endpoint', 'token_endpoint', 'jwks_uri', 'userinfo_endpoint']) {
      assert(meta[ep]?.startsWith(`${issuer}/`), `${ep} ${meta[ep]}`);
    }
  });
  await step('discovery: code flow only, PKCE S256 only, basic+post client auth, RS256+ES256 ID tokens', async () => {
    assert(JSON.stringify(meta.response_types_supported) === '["code"]', `response_types ${meta.response_types_supported}`);
    assert(JSON.stringify(meta.code_challenge_methods_supported) === '["S256"]', `pkce ${meta.code_challenge_methods_supported}`);
    assert(JSON.stringify(meta.token_endpoint_auth_methods_supported.toSorted()) === '["client_secret_basic","client_secret_post"]', `auth ${meta.token_endpoint_auth_methods_supported}`);
    assert(JSON.stringify(meta.id_token_signing_alg_values_supported) === '["RS256","ES256"]', `algs ${meta.id_token_signing_alg_values_supported}`);
    assert(JSON.stringify(meta.scopes_supported) === '["openid","email","profile"]', `scopes ${meta.scopes_supported}`);
    assert(meta.authorization_response_iss_parameter_supported === true, 'iss parameter');
  });
  await step('JWKS publishes an RS256 and an ES256 public key, each with a kid', async () => {
    const res = await request(undefined, meta.jwks_uri);
    assert(res.status === 200, `status ${res.status}`);
    jwks = JSON.parse(res.text);
    const rsa = jwks.keys.filter((k) => k.kty === 'RSA' && k.alg === 'RS256' && k.kid);
    const ec = jwks.keys.filter((k) => k.kty === 'EC' && k.alg === 'ES256' && k.crv === 'P-256' && k.kid);
    assert(jwks.keys.length === 2 && rsa.length === 1 && ec.length === 1, JSON.stringify(jwks));
    assert(jwks.keys.every((k) => !('d' in k) && !('p' in k)), 'private parameters published');
    JWKS = jose.createLocalJWKSet(jwks);
  });
  const rsaJwk = () => jwks.keys.find((k) => k.kty === 'RSA');

  await step('--write-keys wrote the private JWKS of the published keys; a test can sign as the provider', async () => {
    const written = JSON.parse(readFileSync(keysFile, 'utf8'));
    assert(written.keys.length === 2 && written.keys.every((k) => k.d), 'private keys missing');
    for (const pub of jwks.keys) {
      const priv = written.keys.find((k) => k.kid === pub.kid);
      assert(priv && priv.n === pub.n && priv.x === pub.x && priv.y === pub.y, `kid ${pub.kid} differs`);
    }
    const priv = written.keys.find((k) => k.kty === 'RSA');
    const jwt = await new jose.SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'RS256', kid: priv.kid })
      .setIssuer(issuer).setAudience(CLIENT_ID).setIssuedAt().setExpirationTime('5m')
      .sign(await jose.importJWK(priv, 'RS256'));
    await jose.jwtVerify(jwt, JWKS, { issuer, audience: CLIENT_ID, algorithms: ['RS256'] });
  });

  // ---- a full sign-in as alice
  const trace = [];
  const alice = await signIn(meta, 'alice@example.test', { trace });
  await step('authorize: 303 to /interaction/{uid}, setting _interaction and _interaction_resume cookies', async () => {
    const [first] = alice.steps;
    assert(first.status === 303, `status ${first.status}`);
    assert(/^.*\/interaction\/[A-Za-z0-9_-]+$/.test(first.location), `location ${first.location}`);
    for (const c of ['_interaction@/interaction/', '_interaction.sig@/interaction/', '_interaction_resume@/auth/', '_interaction_resume.sig@/auth/']) {
      assert(first.cookies.some((n) => n.startsWith(c)), `cookie ${c} missing: ${first.cookies}`);
    }
  });
  await step('interaction: GET shows the sign-in form (login, password), POST answers 303 to /auth/{uid}', async () => {
    const [, form, post] = alice.steps;
    assert(form.method === 'GET' && form.status === 200, `GET ${form.status}`);
    assert(post.method === 'POST' && post.status === 303, `POST ${post.status}`);
    assert(post.location === `${issuer}/auth/${form.url.split('/').pop()}`, `location ${post.location}`);
  });
  await step('resume: 303 to the redirect URI with code, the same state and iss; _session cookie set', async () => {
    const resume = alice.steps[3];
    assert(resume.status === 303, `status ${resume.status}`);
    assert(alice.steps.length === 4, `${alice.steps.length} requests`);
    assert(alice.callback.href.startsWith(`${REDIRECT_URI}?`), `callback ${alice.callback}`);
    assert(alice.code && alice.code.length >= 32, 'no code');
    assert(alice.callback.searchParams.get('state') === alice.state, 'state differs');
    assert(alice.callback.searchParams.get('iss') === issuer, `iss ${alice.callback.searchParams.get('iss')}`);
    assert(resume.cookies.some((n) => n === '_session@/'), `cookies ${resume.cookies}`);
  });

  let aliceTokens;
  await step('token: the code, the verifier and client_secret_basic give 200 with an ID token, no refresh token', async () => {
    const res = await exchange(meta, alice.code, alice.verifier);
    assert(res.status === 200, `status ${res.status} ${res.text}`);
    aliceTokens = res.json;
    assert(aliceTokens.token_type === 'Bearer' && aliceTokens.access_token && aliceTokens.id_token, res.text);
    assert(!('refresh_token' in aliceTokens), 'refresh token issued');
    assert(res.headers.get('cache-control') === 'no-store', `cache-control ${res.headers.get('cache-control')}`);
  });
  await step('ID token verifies against the JWKS (RS256, iss, aud, exp), nonce is ours, claims are alice\'s', async () => {
    const { payload, protectedHeader } = await jose.jwtVerify(aliceTokens.id_token, JWKS, {
      issuer, audience: CLIENT_ID, algorithms: ['RS256'], requiredClaims: ['iat', 'exp', 'sub', 'nonce'],
    });
    assert(protectedHeader.kid === rsaJwk().kid, `kid ${protectedHeader.kid}`);
    assert(payload.nonce === alice.nonce, 'nonce differs');
    assert(payload.sub === subFor('alice@example.test'), `sub ${payload.sub}`);
    assert(payload.email === 'alice@example.test' && payload.email_verified === true && payload.name === 'Alice', JSON.stringify(payload));
    assert(payload.aud === CLIENT_ID, `aud ${JSON.stringify(payload.aud)}`);
  });
  await step('userinfo answers the access token with the same subject', async () => {
    const res = await request(undefined, meta.userinfo_endpoint, { headers: { authorization: `Bearer ${aliceTokens.access_token}` } });
    assert(res.status === 200, `status ${res.status}`);
    assert(JSON.parse(res.text).sub === subFor('alice@example.test'), res.text);
  });
  await step('a replayed code is refused (400 invalid_grant) and revokes the tokens issued for it', async () => {
    const res = await exchange(meta, alice.code, alice.verifier);
    assert(res.status === 400 && res.json?.error === 'invalid_grant', `${res.status} ${res.text}`);
    const ui = await request(undefined, meta.userinfo_endpoint, { headers: { authorization: `Bearer ${aliceTokens.access_token}` } });
    assert(ui.status === 401, `userinfo after replay: ${ui.status}`);
  });

  await step('with the provider session cookie, a new authorization skips the form (SSO, consent again automatic)', async () => {
    const again = await signIn(meta, 'alice@example.test', { jar: alice.jar });
    assert(again.code && again.steps.every((t) => t.method === 'GET' && t.status === 303), again.steps.map((t) => `${t.method} ${new URL(t.url).pathname} ${t.status}`).join(', '));
    const res = await exchange(meta, again.code, again.verifier);
    assert(res.status === 200, `status ${res.status}`);
  });
  await step('prompt=login with the session cookie shows the form again and can switch user', async () => {
    const again = await signIn(meta, 'bob@example.test', { jar: alice.jar, prompt: 'login' });
    assert(again.code, `no code: ${again.steps.map((t) => `${t.method} ${new URL(t.url).pathname} ${t.status}`).join(', ')}`);
    const res = await exchange(meta, again.code, again.verifier);
    assert(jose.decodeJwt(res.json.id_token).sub === subFor('bob@example.test'), 'not bob');
  });

  // ---- other successful paths
  await step('client_secret_post is accepted too; bob\'s ID token verifies', async () => {
    const bob = await signIn(meta, 'bob@example.test');
    const res = await exchange(meta, bob.code, bob.verifier, { auth: 'post' });
    assert(res.status === 200, `status ${res.status} ${res.text}`);
    const { payload } = await jose.jwtVerify(res.json.id_token, JWKS, { issuer, audience: CLIENT_ID, algorithms: ['RS256'] });
    assert(payload.nonce === bob.nonce && payload.email === 'bob@example.test' && payload.email_verified === true, JSON.stringify(payload));
  });
  await step('a second registered redirect URI works and must be repeated at the token endpoint', async () => {
    const s = await signIn(meta, 'bob@example.test', { redirectUri: OTHER_REDIRECT_URI });
    assert(s.callback?.href.startsWith(`${OTHER_REDIRECT_URI}?`), `callback ${s.callback}`);
    const wrong = await exchange(meta, s.code, s.verifier);
    assert(wrong.status === 400 && wrong.json?.error === 'invalid_grant', `mismatched redirect_uri: ${wrong.status} ${wrong.text}`);
  });
  await step('unverified@example.test signs in with email_verified false', async () => {
    const u = await signIn(meta, 'unverified@example.test');
    const res = await exchange(meta, u.code, u.verifier);
    const { payload } = await jose.jwtVerify(res.json.id_token, JWKS, { issuer, audience: CLIENT_ID, algorithms: ['RS256'] });
    assert(payload.email_verified === false && payload.email === 'unverified@example.test', JSON.stringify(payload));
  });
  await step('subjects are stable: sub is the first 32 hex digits of SHA-256 of the email', async () => {
    const a = await signIn(meta, 'alice@example.test');
    const res = await exchange(meta, a.code, a.verifier);
    assert(jose.decodeJwt(res.json.id_token).sub === subFor('alice@example.test'), 'sub changed');
  });

  // ---- refusals by oidc-provider
  await step('a wrong code_verifier is refused (400 invalid_grant); the code is not used up by it', async () => {
    const s = await signIn(meta, 'bob@example.test');
    const res = await exchange(meta, s.code, random());
    assert(res.status === 400 && res.json?.error === 'invalid_grant', `${res.status} ${res.text}`);
    const right = await exchange(meta, s.code, s.verifier);
    assert(right.status === 200, `then the right verifier: ${right.status} ${right.text}`);
  });
  await step('a missing code_verifier is refused (400 invalid_grant)', async () => {
    const s = await signIn(meta, 'bob@example.test');
    const res = await exchange(meta, s.code, undefined);
    assert(res.status === 400 && res.json?.error === 'invalid_grant', `${res.status} ${res.text}`);
  });
  await step('a wrong client secret is refused (401 invalid_client)', async () => {
    const s = await signIn(meta, 'bob@example.test');
    const res = await exchange(meta, s.code, s.verifier, { secret: 'not-the-secret' });
    assert(res.status === 401 && res.json?.error === 'invalid_client', `${res.status} ${res.text}`);
  });
  await step('authorization without PKCE is refused (303 to the redirect URI with error=invalid_request)', async () => {
    const state = random();
    const res = await request(new CookieJar(), authorizeUrl(meta, {
      response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: 'openid', state, nonce: random(),
    }));
    const loc = res.location && new URL(res.location);
    assert(res.status === 303 && loc.href.startsWith(REDIRECT_URI), `${res.status} ${res.location}`);
    assert(loc.searchParams.get('error') === 'invalid_request' && loc.searchParams.get('state') === state, loc.search);
    assert(loc.searchParams.get('error_description') === 'Authorization Server policy requires PKCE to be used for this request', loc.search);
  });
  await step('prompt=none without a provider session: error=login_required with the state and iss', async () => {
    const state = random();
    const v = random();
    const res = await request(new CookieJar(), authorizeUrl(meta, {
      response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: 'openid', state,
      nonce: random(), code_challenge: b64sha256(v), code_challenge_method: 'S256', prompt: 'none',
    }));
    const loc = res.location && new URL(res.location);
    assert(res.status === 303 && loc.searchParams.get('error') === 'login_required'
      && loc.searchParams.get('state') === state && loc.searchParams.get('iss') === issuer, `${res.status} ${res.location}`);
  });
  await step('code_challenge_method=plain is refused (error=invalid_request)', async () => {
    const v = random();
    const res = await request(new CookieJar(), authorizeUrl(meta, {
      response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: 'openid', state: random(),
      nonce: random(), code_challenge: v, code_challenge_method: 'plain',
    }));
    assert(res.status === 303 && new URL(res.location).searchParams.get('error') === 'invalid_request', `${res.status} ${res.location}`);
  });
  await step('an unregistered redirect_uri gets an error page, never a redirect', async () => {
    const v = random();
    const res = await request(new CookieJar(), authorizeUrl(meta, {
      response_type: 'code', client_id: CLIENT_ID, redirect_uri: 'http://127.0.0.1:9/evil', scope: 'openid',
      state: random(), nonce: random(), code_challenge: b64sha256(v), code_challenge_method: 'S256',
    }));
    assert(res.status === 400 && !res.location, `${res.status} ${res.location}`);
  });
  await step('a wrong password shows the form again (401), no redirect', async () => {
    const s = await signIn(meta, 'alice@example.test', { password: 'wrong-password' });
    assert(s.last.status === 401 && /name="password"/.test(s.last.text) && !s.code, `status ${s.last.status}`);
  });
  await step('the interaction without its cookie is refused (400)', async () => {
    const jar = new CookieJar();
    const v = random();
    const res = await request(jar, authorizeUrl(meta, {
      response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: 'openid',
      state: random(), nonce: random(), code_challenge: b64sha256(v), code_challenge_method: 'S256',
    }));
    const post = await request(undefined, `${res.location}/login`, { method: 'POST', form: { login: 'alice@example.test', password: PASSWORD } });
    assert(post.status === 400, `status ${post.status}`);
  });
  await step('cancelling (GET /interaction/{uid}/abort) redirects with error=access_denied and the state', async () => {
    const jar = new CookieJar();
    const v = random();
    const state = random();
    let res = await request(jar, authorizeUrl(meta, {
      response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT_URI, scope: 'openid',
      state, nonce: random(), code_challenge: b64sha256(v), code_challenge_method: 'S256',
    }));
    res = await request(jar, `${res.location}/abort`);
    assert(res.status === 303, `abort ${res.status}`);
    res = await request(jar, res.location);
    const loc = new URL(res.location);
    assert(loc.href.startsWith(REDIRECT_URI) && loc.searchParams.get('error') === 'access_denied'
      && loc.searchParams.get('state') === state && !loc.searchParams.get('code'), loc.href);
  });

  // ---- attack users: the ID token is hostile, the rest of the response is not
  const attackToken = async (user) => {
    const s = await signIn(meta, `${user}@example.test`);
    assert(s.code, `no code for ${user}`);
    const res = await exchange(meta, s.code, s.verifier);
    assert(res.status === 200 && res.json.access_token && res.json.token_type === 'Bearer', `${res.status} ${res.text}`);
    return { s, idToken: res.json.id_token, accessToken: res.json.access_token };
  };
  const verifyLoosely = (idToken, opts = {}) => jose.jwtVerify(idToken, JWKS, { algorithms: ['RS256'], ...opts });
  // What a correct relying party concludes (null nonce = not checked here).
  const refused = async (idToken, nonce) => {
    try {
      const { payload } = await jose.jwtVerify(idToken, JWKS, { issuer, audience: CLIENT_ID, algorithms: ['RS256', 'ES256'] });
      if (nonce !== undefined && payload.nonce !== nonce) return 'nonce';
      if (Array.isArray(payload.aud) && payload.azp !== CLIENT_ID) return 'azp';
      return 'accepted';
    } catch (err) {
      return err.code ?? err.message;
    }
  };

  await step('wrong-nonce: signed by the provider, right iss/aud, nonce is not ours', async () => {
    const { s, idToken, accessToken } = await attackToken('wrong-nonce');
    const { payload, protectedHeader } = await verifyLoosely(idToken, { issuer, audience: CLIENT_ID });
    assert(protectedHeader.kid === rsaJwk().kid, `kid ${protectedHeader.kid}`);
    assert(payload.nonce && payload.nonce !== s.nonce, `nonce ${payload.nonce}`);
    assert(await refused(idToken, s.nonce) === 'nonce', 'not refused for nonce');
    const ui = await request(undefined, meta.userinfo_endpoint, { headers: { authorization: `Bearer ${accessToken}` } });
    assert(ui.status === 200 && JSON.parse(ui.text).sub === subFor('wrong-nonce@example.test'), `userinfo ${ui.status}`);
  });
  await step('wrong-aud: signed by the provider, aud is "another-client"', async () => {
    const { idToken } = await attackToken('wrong-aud');
    const { payload } = await verifyLoosely(idToken, { issuer });
    assert(payload.aud === 'another-client', `aud ${JSON.stringify(payload.aud)}`);
    assert(await refused(idToken) === 'ERR_JWT_CLAIM_VALIDATION_FAILED', 'not refused');
  });
  await step('multi-aud: aud [client, "another-client"] with azp "another-client"', async () => {
    const { s, idToken } = await attackToken('multi-aud');
    const { payload } = await verifyLoosely(idToken, { issuer, audience: CLIENT_ID });
    assert(JSON.stringify(payload.aud) === JSON.stringify([CLIENT_ID, 'another-client']) && payload.azp === 'another-client', JSON.stringify(payload));
    assert(payload.nonce === s.nonce, 'nonce should be ours');
    assert(await refused(idToken, s.nonce) === 'azp', 'azp not the reason');
  });
  await step('wrong-iss: signed by the provider, iss is http://127.0.0.1:1/other-issuer', async () => {
    const { idToken } = await attackToken('wrong-iss');
    const { payload } = await verifyLoosely(idToken, { audience: CLIENT_ID });
    assert(payload.iss === 'http://127.0.0.1:1/other-issuer', `iss ${payload.iss}`);
    assert(await refused(idToken) === 'ERR_JWT_CLAIM_VALIDATION_FAILED', 'not refused');
  });
  await step('expired: signed by the provider, exp and iat an hour in the past', async () => {
    const { idToken } = await attackToken('expired');
    const payload = jose.decodeJwt(idToken);
    await verifyLoosely(idToken, { issuer, audience: CLIENT_ID, currentDate: new Date((payload.exp - 10) * 1000) });
    const t = Math.floor(Date.now() / 1000);
    assert(payload.exp <= t - 3600 && payload.iat <= t - 3600 && payload.iat < payload.exp, JSON.stringify(payload));
    assert(await refused(idToken) === 'ERR_JWT_EXPIRED', 'not refused as expired');
  });
  await step('future-iat: signed by the provider, iat an hour in the future', async () => {
    const { idToken } = await attackToken('future-iat');
    const { payload } = await verifyLoosely(idToken, { issuer, audience: CLIENT_ID });
    const t = Math.floor(Date.now() / 1000);
    assert(payload.iat >= t + 3500 && payload.exp > payload.iat, JSON.stringify(payload));
  });
  await step('alg-none: header alg "none", empty signature, refused by a verifier', async () => {
    const { s, idToken } = await attackToken('alg-none');
    const [h, p, sig] = idToken.split('.');
    const header = JSON.parse(Buffer.from(h, 'base64url'));
    const payload = JSON.parse(Buffer.from(p, 'base64url'));
    assert(header.alg === 'none' && sig === '' && !header.kid, JSON.stringify(header));
    assert(payload.iss === issuer && payload.aud === CLIENT_ID && payload.nonce === s.nonce, 'claims otherwise valid');
    assert(await refused(idToken) !== 'accepted', 'accepted');
  });
  const spkiOf = (jwk) => createPublicKey({ key: { kty: 'RSA', n: jwk.n, e: jwk.e }, format: 'jwk' });
  const hmacVariants = {
    'hs256-pubkey': ['SPKI PEM text', () => Buffer.from(spkiOf(rsaJwk()).export({ type: 'spki', format: 'pem' }))],
    'hs256-pubkey-pkcs1': ['PKCS#1 PEM text', () => Buffer.from(spkiOf(rsaJwk()).export({ type: 'pkcs1', format: 'pem' }))],
    'hs256-pubkey-der': ['SPKI DER bytes', () => spkiOf(rsaJwk()).export({ type: 'spki', format: 'der' })],
    'hs256-pubkey-jwk': ['JWK JSON text as published', () => Buffer.from(JSON.stringify(rsaJwk()))],
  };
  for (const [user, [form, secret]] of Object.entries(hmacVariants)) {
    await step(`${user}: HS256 under the RSA key's kid, HMAC key = the RSA public key's ${form}`, async () => {
      const { s, idToken } = await attackToken(user);
      const header = jose.decodeProtectedHeader(idToken);
      assert(header.alg === 'HS256' && header.kid === rsaJwk().kid, JSON.stringify(header));
      const { payload } = await jose.jwtVerify(idToken, secret(), { issuer, audience: CLIENT_ID, algorithms: ['HS256'] });
      assert(payload.nonce === s.nonce, 'claims otherwise valid');
      assert(await refused(idToken) !== 'accepted', 'accepted by an RS256/ES256 verifier');
    });
  }
  await step('unknown-kid: RS256 under a kid the JWKS does not publish, no published key verifies it', async () => {
    const { idToken } = await attackToken('unknown-kid');
    const header = jose.decodeProtectedHeader(idToken);
    assert(header.alg === 'RS256' && header.kid && !jwks.keys.some((k) => k.kid === header.kid), JSON.stringify(header));
    const again = JSON.parse((await request(undefined, meta.jwks_uri)).text);
    assert(!again.keys.some((k) => k.kid === header.kid), 'a JWKS refresh publishes it');
    for (const k of jwks.keys.filter((x) => x.kty === 'RSA')) {
      const ok = await jose.jwtVerify(idToken, await jose.importJWK(k, 'RS256')).then(() => true, () => false);
      assert(!ok, `verifies with ${k.kid}`);
    }
  });

  // ---- a second provider: --keys with the written keys, ID tokens in ES256
  await step('--keys reuses a JWKS; --id-token-alg ES256 signs ID tokens with the EC key', async () => {
    const second = await startProvider(['--keys', keysFile, '--id-token-alg', 'ES256']);
    const m = JSON.parse((await request(undefined, `${second.issuer}/.well-known/openid-configuration`)).text);
    const j = JSON.parse((await request(undefined, m.jwks_uri)).text);
    assert(JSON.stringify(j) === JSON.stringify(jwks), 'JWKS differs');
    const s = await signIn(m, 'alice@example.test');
    const res = await exchange(m, s.code, s.verifier);
    const { protectedHeader, payload } = await jose.jwtVerify(res.json.id_token, jose.createLocalJWKSet(j), {
      issuer: second.issuer, audience: CLIENT_ID, algorithms: ['ES256'],
    });
    assert(protectedHeader.kid === j.keys.find((k) => k.kty === 'EC').kid && payload.nonce === s.nonce, JSON.stringify(protectedHeader));
    assert(payload.sub === subFor('alice@example.test'), 'same sub at another issuer');
    second.child.kill('SIGTERM');
  });
  await step('SIGTERM stops the provider', async () => {
    const third = await startProvider();
    const code = await new Promise((resolve) => { third.child.on('exit', resolve); third.child.kill('SIGTERM'); });
    assert(code === 0, `exit ${code}`);
  });

  if (process.env.OIDC_SMOKE_TRACE) {
    for (const t of trace) console.error(`${t.method} ${t.url} -> ${t.status} ${t.location ?? ''} [${t.cookies.join(' ')}]`);
    if (aliceTokens) {
      console.error(JSON.stringify({ ...aliceTokens, access_token: '…', id_token: '…' }));
      console.error(JSON.stringify(jose.decodeProtectedHeader(aliceTokens.id_token)));
      console.error(JSON.stringify(jose.decodeJwt(aliceTokens.id_token)));
    }
  }
} catch (err) {
  check('smoke test ran to the end', false, err?.stack ?? String(err));
} finally {
  stopAll();
  rmSync(keysDir, { recursive: true, force: true });
}

console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
