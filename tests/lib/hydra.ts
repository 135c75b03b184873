// ORY Hydra (a certified OpenID Connect provider, run in production by many) for e2e tests and the
// demo: built by scripts/install-hydra.sh, started on 127.0.0.1 with in-memory storage and a
// config in a temp dir, and stopped leaving no process behind.
//
// Hydra has no user database and no password grant: like every Hydra deployment, it delegates the
// login and consent screens to an app of ours. This harness runs that app (a login form checking
// static users, and a consent step granting the edge audience and the user's groups) on
// 127.0.0.1, and `tokenFor(user)` is a scripted browser going through the real authorization-code
// flow: GET /oauth2/auth -> login form POST -> consent -> callback with a code -> POST
// /oauth2/token with the client's secret. The access token is a JWT (strategies.access_token=jwt)
// signed by Hydra's key set `hydra.jwt.access-token`, published at the jwks_uri of Hydra's
// discovery document; `rotateKeys()` adds a new signing key through Hydra's admin keys API.
//
//   const idp = await startHydra();              // throws if the binary is missing
//   const token = await idp.tokenFor('alice');   // idp.issuer, idp.discoveryUrl, idp.jwksUri, idp.port
//   await idp.rotateKeys(); await idp.stop();
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http';
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { repoRoot } from './build-filter.ts';
import { freePort } from './ports.ts';

export const hydraBin = resolve(repoRoot, '.tools/bin/hydra');
export const HYDRA_VERSION = 'v2.3.0';

export interface HydraUser { password: string; email: string; groups: string[] }

export interface HydraOptions {
  /** Audience granted to access tokens (the edge gateway's). Default https://shop.cellauth.local. */
  audience?: string;
  /** Users the login app knows. Default alice (password "alice-password", groups customers). */
  users?: Record<string, HydraUser>;
  /** Access token lifetime. Default 10m. */
  accessTokenTtl?: string;
  /** Import an RS256 key of this harness into Hydra's access-token key set at start, so that
   * `expiredTokenFor` can replay an expired token (for negative scenes: no provider hands out an
   * already expired token). Default false: every key is Hydra's own. */
  expiredTokens?: boolean;
  /** Further audiences the client may ask for. Default ['https://elsewhere.cellauth.local']. */
  otherAudiences?: string[];
}

export interface TokenOptions {
  /** Default: the user's own. */
  password?: string;
  /** Audiences to ask for. Default [audience]; [] asks for none (Hydra then issues aud: []); others
   * must be among `otherAudiences` (negative tests: a real token for another application). */
  audience?: string[];
}

export interface TokenSet { accessToken: string; idToken: string; expiresIn: number; scope: string }

export interface Hydra {
  /** The issuer of every token, exactly as in the discovery document (no trailing slash). */
  issuer: string;
  /** The discovery document's jwks_uri (for consumers without discovery, e.g. the STS's globalJWKS.uri). */
  jwksUri: string;
  /** <issuer>/.well-known/openid-configuration */
  discoveryUrl: string;
  /** The public port (OAuth 2.0 and discovery endpoints, JWKS). */
  port: number;
  adminPort: number;
  audience: string;
  /** The access token (a JWT for `audience`) of a real authorization-code flow for this user. */
  tokenFor(user: string, opts?: TokenOptions): Promise<string>;
  /** The whole token response (access token, ID token) of that flow. */
  tokensFor(user: string, opts?: TokenOptions): Promise<TokenSet>;
  /** A token Hydra issued for this user, as it looks `secondsAgo` after it expired: the claims of a
   * real flow, iat/nbf/exp moved back, signed with the key imported at start (needs `expiredTokens`). */
  expiredTokenFor(user: string, secondsAgo?: number): Promise<string>;
  /** Adds a new RS256 signing key for access tokens; later tokens carry its kid. Returns the kid. */
  rotateKeys(): Promise<string>;
  /** The public JWKS Hydra serves now. */
  jwks(): Promise<{ keys: Array<Record<string, unknown>> }>;
  logs(): string;
  stop(): Promise<void>;
}

export const DEFAULT_USERS: Record<string, HydraUser> = {
  alice: { password: 'alice-password', email: 'alice@shop.cellauth.local', groups: ['customers'] },
  bob: { password: 'bob-password', email: 'bob@shop.cellauth.local', groups: ['customers', 'staff'] },
};

const htmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const htmlUnescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
const live = new Set<ChildProcess>();
process.once('exit', () => { for (const p of live) try { p.kill('SIGKILL'); } catch { /* gone */ } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Builds Hydra if it is not there yet (cached by the install script). Returns why not, or null. */
export function ensureHydra(): string | null {
  if (existsSync(hydraBin)) return null;
  const marker = resolve(repoRoot, `.tools/hydra-${HYDRA_VERSION}.unavailable`);
  if (existsSync(marker)) return readFileSync(marker, 'utf8').split('\n').slice(0, 3).join(' ');
  try {
    execFileSync('bash', [resolve(repoRoot, 'scripts/install-hydra.sh')], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 40 * 60_000 });
    return existsSync(hydraBin) ? null : 'scripts/install-hydra.sh ran but left no binary';
  } catch (e) {
    return `scripts/install-hydra.sh failed: ${(e as Error).message.split('\n')[0]}`;
  }
}

async function adminJson(adminUrl: string, method: string, path: string, body?: unknown): Promise<any> {
  const r = await fetch(adminUrl + path, {
    method, headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(20_000),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`hydra admin ${method} ${path.split("?")[0]}: HTTP ${r.status} ${text.slice(0, 500)}`);
  return text ? JSON.parse(text) : undefined;
}

export async function startHydra(opts: HydraOptions = {}): Promise<Hydra> {
  const why = ensureHydra();
  if (why) throw new Error(`hydra is not available: ${why}`);
  const audience = opts.audience ?? 'https://shop.cellauth.local';
  const users = opts.users ?? DEFAULT_USERS;
  const [port, adminPort] = [await freePort(), await freePort()];
  const issuer = `http://127.0.0.1:${port}`;
  const adminUrl = `http://127.0.0.1:${adminPort}`;

  // ---- the login and consent app Hydra redirects the browser to ----
  const app: Server = createServer((req, res) => { handleApp(req, res).catch((e) => { res.writeHead(500).end(String(e)); }); });
  await new Promise<void>((r, j) => { app.once('error', j); app.listen(0, '127.0.0.1', () => r()); });
  const appUrl = `http://127.0.0.1:${(app.address() as { port: number }).port}`;
  const formBody = async (req: IncomingMessage) => {
    let s = ''; for await (const c of req) s += c;
    return new URLSearchParams(s);
  };
  async function handleApp(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', appUrl);
    if (url.pathname === '/login' && req.method === 'GET') {
      // As a login app does: fetch the login request first (Hydra refuses to accept one never fetched).
      const challenge = url.searchParams.get('login_challenge') ?? '';
      await adminJson(adminUrl, 'GET', `/admin/oauth2/auth/requests/login?login_challenge=${encodeURIComponent(challenge)}`);
      res.writeHead(200, { 'content-type': 'text/html' }).end(
        `<form method="post" action="/login"><input type="hidden" name="login_challenge" value="${htmlEscape(challenge)}">` +
        '<input name="username"><input name="password" type="password"><button>Sign in</button></form>');
      return;
    }
    if (url.pathname === '/login' && req.method === 'POST') {
      const f = await formBody(req);
      const challenge = f.get('login_challenge') ?? '';
      const user = users[f.get('username') ?? ''];
      if (!user || user.password !== f.get('password')) {
        const out = await adminJson(adminUrl, 'PUT', `/admin/oauth2/auth/requests/login/reject?login_challenge=${encodeURIComponent(challenge)}`,
          { error: 'access_denied', error_description: 'The username or password is wrong.' });
        res.writeHead(302, { location: out.redirect_to }).end();
        return;
      }
      const out = await adminJson(adminUrl, 'PUT', `/admin/oauth2/auth/requests/login/accept?login_challenge=${encodeURIComponent(challenge)}`,
        { subject: f.get('username'), remember: false });
      res.writeHead(302, { location: out.redirect_to }).end();
      return;
    }
    if (url.pathname === '/consent') {
      // A first-party client: consent is granted for the requested scopes and the edge audience.
      const challenge = url.searchParams.get('consent_challenge') ?? '';
      const c = await adminJson(adminUrl, 'GET', `/admin/oauth2/auth/requests/consent?consent_challenge=${encodeURIComponent(challenge)}`);
      const user = users[c.subject];
      const claims = { email: user?.email, groups: user?.groups ?? [] };
      const out = await adminJson(adminUrl, 'PUT', `/admin/oauth2/auth/requests/consent/accept?consent_challenge=${encodeURIComponent(challenge)}`, {
        grant_scope: c.requested_scope, grant_access_token_audience: c.requested_access_token_audience, remember: false,
        session: { access_token: claims, id_token: claims },
      });
      res.writeHead(302, { location: out.redirect_to }).end();
      return;
    }
    res.writeHead(404).end();
  }

  // ---- Hydra itself ----
  const dir = mkdtempSync(join(tmpdir(), 'cellauth-hydra-'));
  const configPath = join(dir, 'hydra.yml');
  const logPath = join(dir, 'hydra.log');
  const callback = `${appUrl}/callback`;
  writeFileSync(configPath, [
    'dsn: memory',
    'serve:',
    `  public: { host: 127.0.0.1, port: ${port} }`,
    `  admin: { host: 127.0.0.1, port: ${adminPort} }`,
    '  cookies: { same_site_mode: Lax }',
    'urls:',
    `  self: { issuer: ${issuer}, public: ${issuer} }`,
    `  login: ${appUrl}/login`,
    `  consent: ${appUrl}/consent`,
    `  error: ${appUrl}/error`,
    'secrets:',
    `  system: [${randomBytes(24).toString('hex')}]`,
    'strategies: { access_token: jwt }',
    'oauth2:',
    '  allowed_top_level_claims: [email, groups]',
    '  mirror_top_level_claims: false',
    'ttl:',
    `  access_token: ${opts.accessTokenTtl ?? '10m'}`,
    'log: { level: warn, leak_sensitive_values: false }',
    '',
  ].join('\n'));
  const logFd = openSync(logPath, 'w');
  const child = spawn(hydraBin, ['serve', 'all', '--dev', '--sqa-opt-out', '-c', configPath], {
    stdio: ['ignore', logFd, logFd], env: { ...process.env, SQA_OPT_OUT: 'true', DSN: 'memory' },
  });
  closeSync(logFd);
  live.add(child);
  let exited = false;
  const exitPromise = new Promise<void>((r) => child.once('exit', () => { exited = true; live.delete(child); r(); }));
  let finalLogs: string | undefined;
  const logs = () => finalLogs ?? (existsSync(logPath) ? readFileSync(logPath, 'utf8') : '');
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      await Promise.race([exitPromise, sleep(5000)]);
      if (!exited) { child.kill('SIGKILL'); await exitPromise; }
    }
    await new Promise<void>((r) => { app.closeAllConnections(); app.close(() => r()); });
    if (finalLogs === undefined) { finalLogs = logs(); rmSync(dir, { recursive: true, force: true }); }
  };

  // Ready when both ports answer /health/ready.
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) { await stop(); throw new Error(`hydra exited at start:\n${finalLogs?.slice(-2000)}`); }
    if (Date.now() > deadline) { await stop(); throw new Error(`hydra did not become ready:\n${finalLogs?.slice(-2000)}`); }
    try {
      const [a, b] = await Promise.all([
        fetch(`${issuer}/health/ready`, { signal: AbortSignal.timeout(1000) }),
        fetch(`${adminUrl}/health/ready`, { signal: AbortSignal.timeout(1000) }),
      ]);
      if (a.ok && b.ok) break;
    } catch { /* not yet */ }
    await sleep(150);
  }

  let client: { id: string; secret: string };
  let discovered: { issuer: string; jwks_uri: string };
  let own: { kid: string; key: CryptoKey } | undefined;
  try {
    if (opts.expiredTokens) {
      const { privateKey } = await generateKeyPair('RS256', { extractable: true });
      const kid = `harness-${randomBytes(6).toString('hex')}`;
      await adminJson(adminUrl, 'PUT', `/admin/keys/hydra.jwt.access-token/${kid}`, { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' });
      own = { kid, key: privateKey };
    }
    const secret = randomBytes(24).toString('base64url');
    const c = await adminJson(adminUrl, 'POST', '/admin/clients', {
      client_name: 'cellauth-shop', client_secret: secret,
      grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
      scope: 'openid email groups offline_access', redirect_uris: [callback], audience: [audience, ...(opts.otherAudiences ?? ['https://elsewhere.cellauth.local'])],
      token_endpoint_auth_method: 'client_secret_post', skip_consent: false,
    });
    client = { id: c.client_id, secret };
    discovered = await (await fetch(`${issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(20_000) })).json() as { issuer: string; jwks_uri: string };
  } catch (e) {
    await stop();
    throw e;
  }

  // A scripted browser: follows redirects itself, keeping Hydra's cookies (CSRF and session).
  async function tokensFor(user: string, o: TokenOptions = {}): Promise<TokenSet> {
    const pw = o.password ?? users[user]?.password ?? '';
    const aud = o.audience ?? [audience];
    const jar = new Map<string, string>();
    const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const go = async (url: string, init: RequestInit = {}): Promise<Response> => {
      const r = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string> ?? {}), ...(url.startsWith(issuer) && jar.size ? { cookie: cookieHeader() } : {}) }, signal: AbortSignal.timeout(20_000) });
      for (const sc of r.headers.getSetCookie()) { const [kv] = sc.split(';'); const i = kv.indexOf('='); jar.set(kv.slice(0, i).trim(), kv.slice(i + 1)); }
      return r;
    };
    const state = randomBytes(12).toString('hex');
    const nonce = randomBytes(12).toString('hex');
    const auth = new URL(`${issuer}/oauth2/auth`);
    auth.search = new URLSearchParams({
      client_id: client.id, response_type: 'code', scope: 'openid email groups', redirect_uri: callback,
      state, nonce, ...(aud.length ? { audience: aud.join(' ') } : {}),
    }).toString();
    let r = await go(auth.toString());
    const loginUrl = r.headers.get('location') ?? '';
    if (!loginUrl.startsWith(`${appUrl}/login`)) throw new Error(`hydra did not redirect to the login app (HTTP ${r.status}: ${await r.text()})`);
    r = await go(loginUrl);
    const challenge = htmlUnescape(/name="login_challenge" value="([^"]*)"/.exec(await r.text())?.[1] ?? '');
    r = await go(`${appUrl}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ login_challenge: challenge, username: user, password: pw }).toString() });
    let next = r.headers.get('location') ?? '';
    for (let hops = 0; hops < 10 && !next.startsWith(callback); hops++) {
      if (!next) throw new Error(`the authorization flow stopped (HTTP ${r.status}: ${(await r.text()).slice(0, 300)})`);
      r = await go(next);
      next = r.headers.get('location') ?? '';
    }
    const cb = new URL(next);
    if (cb.searchParams.get('error')) throw new Error(`authorization refused: ${cb.searchParams.get('error')}: ${cb.searchParams.get('error_description')}`);
    if (cb.searchParams.get('state') !== state) throw new Error('state mismatch in the callback');
    const tr = await fetch(`${issuer}/oauth2/token`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: cb.searchParams.get('code') ?? '', redirect_uri: callback, client_id: client.id, client_secret: client.secret }).toString(),
      signal: AbortSignal.timeout(20_000),
    });
    const t = await tr.json() as any;
    if (!tr.ok) throw new Error(`token endpoint: HTTP ${tr.status} ${JSON.stringify(t)}`);
    return { accessToken: t.access_token, idToken: t.id_token, expiresIn: t.expires_in, scope: t.scope };
  }

  return {
    issuer: discovered.issuer,
    discoveryUrl: `${discovered.issuer}/.well-known/openid-configuration`,
    port,
    adminPort,
    audience,
    tokensFor,
    jwksUri: discovered.jwks_uri,
    tokenFor: async (user, o) => (await tokensFor(user, o)).accessToken,
    async expiredTokenFor(user, secondsAgo = 120) {
      if (!own) throw new Error('startHydra({ expiredTokens: true }) is needed for expiredTokenFor');
      const real = (await tokensFor(user)).accessToken;
      const c = JSON.parse(Buffer.from(real.split('.')[1], 'base64url').toString());
      const shift = c.exp - (Math.floor(Date.now() / 1000) - secondsAgo);
      return new SignJWT({ ...c, iat: c.iat - shift, nbf: c.nbf - shift, exp: c.exp - shift })
        .setProtectedHeader({ alg: 'RS256', kid: own.kid, typ: 'JWT' }).sign(own.key);
    },
    async rotateKeys() {
      const kid = `rotated-${randomBytes(6).toString('hex')}`;
      await adminJson(adminUrl, 'POST', '/admin/keys/hydra.jwt.access-token', { alg: 'RS256', use: 'sig', kid });
      return kid;
    },
    jwks: async () => (await fetch(`${issuer}/.well-known/jwks.json`, { signal: AbortSignal.timeout(20_000) })).json() as any,
    logs,
    stop,
  };
}
