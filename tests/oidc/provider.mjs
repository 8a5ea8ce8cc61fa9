#!/usr/bin/env node
// A real OpenID Connect provider for the Task API's sign-in tests: panva's
// oidc-provider (OpenID Certified) with one confidential client, a few users, and
// users whose ID tokens are made hostile after oidc-provider issued them.
//
//   node tests/oidc/provider.mjs --port P [--issuer URL] --client-id ID
//        --client-secret SECRET --redirect-uri URI [--redirect-uri URI2 ...]
//        [--keys FILE] [--write-keys FILE] [--id-token-alg RS256|ES256] [--quiet]
//
// Prints `ready <issuer>` on stdout once listening; everything else goes to stderr.
// Runs until SIGTERM or SIGINT. See README.md beside this file.

import { createHash, createPublicKey, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

// oidc-provider prints its notices with console.info (stdout): keep stdout for the
// single `ready` line that a test harness waits for.
console.info = (...args) => console.error(...args);
console.log = (...args) => console.error(...args);

let Provider;
let errors;
let jose;
try {
  ({ default: Provider, errors } = await import('oidc-provider'));
  jose = await import('jose');
} catch (err) {
  process.stderr.write(`provider.mjs: ${err.message}\n(install the pinned dependencies: npm ci --prefix tests/oidc)\n`);
  process.exit(1);
}

// ---------------------------------------------------------------- arguments

function usage(message) {
  if (message) process.stderr.write(`provider.mjs: ${message}\n`);
  process.stderr.write(
    'usage: node tests/oidc/provider.mjs --port P [--issuer URL] --client-id ID '
      + '--client-secret SECRET --redirect-uri URI [--redirect-uri URI ...] '
      + '[--keys FILE] [--write-keys FILE] [--id-token-alg RS256|ES256] [--quiet]\n',
  );
  process.exit(2);
}

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      port: { type: 'string' },
      issuer: { type: 'string' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      keys: { type: 'string' },
      'write-keys': { type: 'string' },
      'id-token-alg': { type: 'string', default: 'RS256' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  }));
} catch (err) {
  usage(err.message);
}
if (args.help) usage();

const port = Number(args.port);
if (!/^[0-9]+$/.test(args.port ?? '') || port < 1 || port > 65535) {
  usage('--port must be an integer 1-65535');
}
const clientId = args['client-id'];
const clientSecret = args['client-secret'];
const redirectUris = args['redirect-uri'] ?? [];
if (!clientId) usage('--client-id is required');
if (!clientSecret) usage('--client-secret is required');
if (redirectUris.length === 0) usage('at least one --redirect-uri is required');
for (const uri of redirectUris) {
  const parsed = URL.parse(uri);
  if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || parsed.hash) {
    usage(`--redirect-uri ${uri} is not an absolute http(s) URI without a fragment`);
  }
}
// The issuer is an origin: oidc-provider's routes are served at the root here.
let issuer = `http://127.0.0.1:${port}`;
if (args.issuer !== undefined) {
  const parsed = URL.parse(args.issuer);
  if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || parsed.search || parsed.hash
      || parsed.username || parsed.password || (parsed.pathname !== '/' && parsed.pathname !== '')) {
    usage('--issuer must be an http(s) origin without a path, query or fragment');
  }
  issuer = parsed.origin;
}
const idTokenAlg = args['id-token-alg'];
if (!['RS256', 'ES256'].includes(idTokenAlg)) usage('--id-token-alg must be RS256 or ES256');

// ---------------------------------------------------------------- signing keys

async function generateKey(alg) {
  const { privateKey } = await jose.generateKeyPair(alg, { extractable: true, modulusLength: 2048 });
  const jwk = await jose.exportJWK(privateKey);
  const kid = `${alg.toLowerCase()}-${(await jose.calculateJwkThumbprint(jwk)).slice(0, 16)}`;
  return { ...jwk, kid, alg, use: 'sig' };
}

let privateJwks;
if (args.keys) {
  try {
    privateJwks = JSON.parse(readFileSync(args.keys, 'utf8'));
  } catch (err) {
    usage(`--keys ${args.keys}: ${err.message}`);
  }
  if (!Array.isArray(privateJwks?.keys)) usage(`--keys ${args.keys}: not a JWKS ({"keys": [...]})`);
  for (const key of privateJwks.keys) {
    if (!key.kid) usage(`--keys ${args.keys}: every key needs a "kid"`);
    if (!key.d) usage(`--keys ${args.keys}: key ${key.kid} has no private part ("d")`);
  }
} else {
  privateJwks = { keys: [await generateKey('RS256'), await generateKey('ES256')] };
}

const rsaJwk = privateJwks.keys.find((k) => k.kty === 'RSA' && (k.alg ?? 'RS256') === 'RS256');
const ecJwk = privateJwks.keys.find((k) => k.kty === 'EC' && k.crv === 'P-256' && (k.alg ?? 'ES256') === 'ES256');
if (!rsaJwk) usage('the signing keys need an RSA key for RS256');
if (idTokenAlg === 'ES256' && !ecJwk) usage('--id-token-alg ES256 needs a P-256 key');
// Pin each key to one algorithm so that the published JWKS says which.
rsaJwk.alg = 'RS256';
if (ecJwk) ecJwk.alg = 'ES256';

if (args['write-keys']) {
  writeFileSync(args['write-keys'], `${JSON.stringify(privateJwks, null, 2)}\n`, { mode: 0o600 });
}

const rsaPrivateKey = await jose.importJWK(rsaJwk, 'RS256');

// The RSA public key in the forms a confused verifier may hold it in; each form is
// used as an HMAC secret by one attack user (algorithm confusion, RS256 -> HS256).
const rsaPublic = createPublicKey({
  key: Object.fromEntries(Object.entries(rsaJwk).filter(([k]) => ['kty', 'n', 'e'].includes(k))),
  format: 'jwk',
});
const publishedRsaJwk = { kty: 'RSA', use: 'sig', kid: rsaJwk.kid, alg: 'RS256', e: rsaJwk.e, n: rsaJwk.n };
const hmacSecrets = {
  spkiPem: Buffer.from(rsaPublic.export({ type: 'spki', format: 'pem' })),
  pkcs1Pem: Buffer.from(rsaPublic.export({ type: 'pkcs1', format: 'pem' })),
  spkiDer: rsaPublic.export({ type: 'spki', format: 'der' }),
  jwkJson: Buffer.from(JSON.stringify(publishedRsaJwk)),
};

// A key the JWKS never publishes, for the unknown-kid attack.
const { privateKey: strayKey } = await jose.generateKeyPair('RS256', { modulusLength: 2048 });
const strayKid = `unpublished-${randomBytes(8).toString('hex')}`;

// ---------------------------------------------------------------- users

const PASSWORD = 'provider-password';

const now = () => Math.floor(Date.now() / 1000);
const HOUR = 3600;

async function signRs256(payload, header) {
  return new jose.SignJWT(payload)
    .setProtectedHeader({ ...header, alg: 'RS256', kid: rsaJwk.kid })
    .sign(rsaPrivateKey);
}

function hs256With(secret) {
  return (payload, header) => new jose.SignJWT(payload)
    .setProtectedHeader({ ...header, alg: 'HS256', kid: rsaJwk.kid })
    .sign(secret);
}

// Each attack takes the ID token's payload and protected header as oidc-provider
// produced them and returns the hostile compact JWT.
const ATTACKS = {
  'wrong-nonce': (p, h) => signRs256({ ...p, nonce: `not-your-nonce-${randomBytes(8).toString('hex')}` }, h),
  'wrong-aud': (p, h) => signRs256({ ...p, aud: 'another-client' }, h),
  'multi-aud': (p, h) => signRs256({ ...p, aud: [clientId, 'another-client'], azp: 'another-client' }, h),
  'wrong-iss': (p, h) => signRs256({ ...p, iss: 'http://127.0.0.1:1/other-issuer' }, h),
  expired: (p, h) => signRs256({ ...p, iat: now() - HOUR - 60, exp: now() - HOUR }, h),
  'future-iat': (p, h) => signRs256({ ...p, iat: now() + HOUR, exp: now() + 2 * HOUR }, h),
  'alg-none': (p, h) => {
    const { kid, ...rest } = h;
    const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
    return `${enc({ ...rest, alg: 'none' })}.${enc(p)}.`;
  },
  'hs256-pubkey': hs256With(hmacSecrets.spkiPem),
  'hs256-pubkey-pkcs1': hs256With(hmacSecrets.pkcs1Pem),
  'hs256-pubkey-der': hs256With(hmacSecrets.spkiDer),
  'hs256-pubkey-jwk': hs256With(hmacSecrets.jwkJson),
  'unknown-kid': (p, h) => new jose.SignJWT(p)
    .setProtectedHeader({ ...h, alg: 'RS256', kid: strayKid })
    .sign(strayKey),
};

const subFor = (email) => createHash('sha256').update(email).digest('hex').slice(0, 32);

const USERS = [
  { email: 'alice@example.test', name: 'Alice', email_verified: true },
  { email: 'bob@example.test', name: 'Bob', email_verified: true },
  { email: 'unverified@example.test', name: 'Unverified', email_verified: false },
  ...Object.keys(ATTACKS).map((attack) => ({
    email: `${attack}@example.test`,
    name: `Attack ${attack}`,
    email_verified: true,
    attack,
  })),
].map((user) => ({ ...user, sub: subFor(user.email) }));

const usersByEmail = new Map(USERS.map((u) => [u.email, u]));
const usersBySub = new Map(USERS.map((u) => [u.sub, u]));

// Any address at these domains is a user of its own, made on its first sign-in, so that
// every test can sign in as someone no test used before.
const FRESH_DOMAINS = { 'fresh.example.test': true, 'fresh-unverified.example.test': false };

function userByLogin(login) {
  const known = usersByEmail.get(login);
  if (known) return known;
  const [local, domain] = login.split('@');
  if (!local || !/^[a-z0-9._+-]{1,64}$/.test(local) || !(domain in FRESH_DOMAINS)) return undefined;
  const user = { email: login, name: `Fresh ${local}`, email_verified: FRESH_DOMAINS[domain], sub: subFor(login) };
  usersByEmail.set(login, user);
  usersBySub.set(user.sub, user);
  return user;
}

// ---------------------------------------------------------------- provider

const SCOPES = ['openid', 'email', 'profile'];

const html = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>${html(title)}</title></head>
<body>
${body}
</body>
</html>
`;
}

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: redirectUris,
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_basic', // client_secret_post is accepted as well
    id_token_signed_response_alg: idTokenAlg,
    application_type: 'web',
  }],
  jwks: { keys: privateJwks.keys.map((k) => ({ ...k })) },
  clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
  responseTypes: ['code'],
  pkce: { required: () => true }, // oidc-provider only knows S256
  scopes: SCOPES,
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  // Put the claims granted by scope in the ID token too (the relying party reads
  // email and email_verified from it), not only in the userinfo response.
  conformIdTokenClaims: false,
  enabledJWA: {
    idTokenSigningAlgValues: ['RS256', 'ES256'],
    userinfoSigningAlgValues: ['RS256', 'ES256'],
  },
  features: {
    devInteractions: { enabled: false }, // our own interaction routes below
    pushedAuthorizationRequests: { enabled: false },
    rpInitiatedLogout: { enabled: false },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  ttl: {
    AccessToken: HOUR,
    AuthorizationCode: 60,
    IdToken: HOUR,
    Interaction: 10 * 60,
    Grant: 14 * 24 * HOUR,
    Session: 14 * 24 * HOUR,
  },
  clientBasedCORS: () => false,
  async findAccount(ctx, sub) {
    const user = usersBySub.get(sub);
    if (!user) return undefined;
    return {
      accountId: user.sub,
      async claims() {
        return {
          sub: user.sub, email: user.email, email_verified: user.email_verified, name: user.name,
        };
      },
    };
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Error', Object.entries(out)
      .map(([k, v]) => `<p><strong>${html(k)}</strong>: ${html(v)}</p>`).join('\n'));
  },
});

// ---------------------------------------------------------------- middleware

if (!args.quiet) {
  // One line per request, without query strings (they carry codes and states).
  provider.use(async (ctx, next) => {
    try {
      await next();
    } finally {
      process.stderr.write(`${ctx.method} ${ctx.path} ${ctx.status}\n`);
    }
  });
}

// The hostile ID tokens: after oidc-provider answered the token endpoint (code,
// PKCE and client authentication all checked by it), the ID token of an attack user
// is replaced by the hostile one. Nothing else in the response changes.
provider.use(async (ctx, next) => {
  await next();
  if (ctx.oidc?.route !== 'token' || ctx.status !== 200) return;
  const body = ctx.body;
  if (!body || typeof body !== 'object' || typeof body.id_token !== 'string') return;
  const payload = jose.decodeJwt(body.id_token);
  const header = jose.decodeProtectedHeader(body.id_token);
  const user = usersBySub.get(payload.sub);
  if (user?.attack) {
    body.id_token = await ATTACKS[user.attack](payload, header);
  }
});

// Interaction routes: sign-in form and its submission. Consent is granted
// automatically for the scopes requested (a first-party client).
const INTERACTION = /^\/interaction\/([A-Za-z0-9_-]+)(\/login|\/abort)?$/;

async function readForm(ctx, limit = 16 * 1024) {
  const type = ctx.get('content-type').split(';')[0].trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') return undefined;
  const chunks = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += chunk.length;
    if (size > limit) ctx.throw(413, 'form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function loginPage(uid, details, error) {
  const client = details.params.client_id;
  return page('Sign in', `<h1>Sign in</h1>
<p>to continue to <code>${html(client)}</code> (scopes: <code>${html(details.params.scope ?? '')}</code>)</p>
${error ? `<p role="alert" class="error">${html(error)}</p>\n` : ''}<form method="post" action="/interaction/${html(uid)}/login">
<p><label>Email <input type="email" name="login" autocomplete="username" required autofocus></label></p>
<p><label>Password <input type="password" name="password" autocomplete="current-password" required></label></p>
<p><button type="submit">Sign in</button></p>
</form>
<p><a href="/interaction/${html(uid)}/abort">Cancel</a></p>`);
}

async function grantRequestedScopes(details, accountId) {
  const { Grant } = provider;
  let grant = details.grantId ? await Grant.find(details.grantId) : undefined;
  grant ??= new Grant({ accountId, clientId: details.params.client_id });
  const requested = String(details.params.scope ?? '').split(' ').filter((s) => SCOPES.includes(s));
  if (requested.length) grant.addOIDCScope(requested.join(' '));
  const missingClaims = details.prompt.details?.missingOIDCClaims;
  if (Array.isArray(missingClaims) && missingClaims.length) grant.addOIDCClaims(missingClaims);
  return grant.save();
}

provider.use(async (ctx, next) => {
  const match = INTERACTION.exec(ctx.path);
  if (!match) return next();
  const [, uid, action] = match;
  ctx.set('cache-control', 'no-store');

  let details;
  try {
    details = await provider.interactionDetails(ctx.req, ctx.res);
  } catch (err) {
    if (err instanceof errors.SessionNotFound) {
      ctx.status = 400;
      ctx.type = 'html';
      ctx.body = page('Error', `<p>interaction session not found: ${html(err.error_description ?? err.message)}
(the client must send the <code>_interaction</code> cookie set by the authorization endpoint)</p>`);
      return undefined;
    }
    throw err;
  }
  if (details.uid !== uid) {
    ctx.status = 400;
    ctx.body = page('Error', '<p>interaction mismatch</p>');
    ctx.type = 'html';
    return undefined;
  }

  const finish = async (result, merge) => {
    ctx.respond = false; // interactionFinished writes the 303 itself
    await provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: merge });
  };

  if (action === '/abort' && ctx.method === 'GET') {
    return finish({ error: 'access_denied', error_description: 'End-User aborted interaction' }, false);
  }

  if (action === undefined && (ctx.method === 'GET' || ctx.method === 'HEAD')) {
    if (details.prompt.name === 'login') {
      ctx.type = 'html';
      ctx.body = loginPage(uid, details);
      return undefined;
    }
    if (details.prompt.name === 'consent') {
      // Already signed in at the provider: consent without a page.
      const grantId = await grantRequestedScopes(details, details.session.accountId);
      return finish({ consent: { grantId } }, true);
    }
    ctx.status = 400;
    ctx.type = 'html';
    ctx.body = page('Error', `<p>unsupported prompt ${html(details.prompt.name)}</p>`);
    return undefined;
  }

  if (action === '/login' && ctx.method === 'POST') {
    const form = await readForm(ctx);
    const login = (form?.get('login') ?? '').trim().toLowerCase();
    const password = form?.get('password') ?? '';
    const user = userByLogin(login);
    if (!user || password !== PASSWORD) {
      ctx.status = 401;
      ctx.type = 'html';
      ctx.body = loginPage(uid, details, 'Invalid email or password.');
      return undefined;
    }
    if (details.session?.accountId && details.session.accountId !== user.sub) {
      // Another user is signed in at the provider (prompt=login with the session
      // cookie). oidc-provider would end that session with a logout form that a
      // browser submits by script; a plain HTTP client cannot, so end it here.
      const previous = await provider.Session.findByUid(details.session.uid);
      await previous?.destroy();
      delete details.session;
      delete details.grantId;
      await details.save(details.exp - now());
    }
    const grantId = await grantRequestedScopes(details, user.sub);
    return finish({ login: { accountId: user.sub }, consent: { grantId } }, false);
  }

  ctx.status = 405;
  ctx.set('allow', action === '/login' ? 'POST' : 'GET');
  ctx.body = '';
  return undefined;
});

// ---------------------------------------------------------------- listen

const server = provider.listen(port, '127.0.0.1');
server.on('error', (err) => {
  process.stderr.write(`provider.mjs: cannot listen on 127.0.0.1:${port}: ${err.message}\n`);
  process.exit(1);
});
server.on('listening', () => {
  process.stdout.write(`ready ${issuer}\n`);
  if (!args.quiet) process.stderr.write(`oidc-provider ${issuer} listening on 127.0.0.1:${port}\n`);
});

function stop(signal) {
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 2000).unref();
  process.stderr.write(`provider.mjs: ${signal}, stopping\n`);
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
