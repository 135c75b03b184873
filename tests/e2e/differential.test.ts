// Differential fuzz against Envoy's native jwt_authn, in one real Envoy: a seeded, bounded corpus
// of tokens mutated from valid ones (header JSON, payload JSON, encoding, transport), each sent to
// a cellauth listener and a jwt_authn listener configured with the same issuer, audience and JWKS
// (RS256 and ES256, keys with and without kid, with and without alg).
//
// It fails when cellauth accepts a token jwt_authn refuses (outside ALLOWED_CELLAUTH_ONLY: one
// documented difference, the case of the Bearer scheme), when a cellauth refusal is not a 401/403 with an RFC
// 6750 `WWW-Authenticate: Bearer` challenge or echoes the token, when jwt_authn accepts a token a
// real identity provider would plausibly emit and cellauth refuses it, or when Envoy or the wasm
// VM falls over. The other jwt_authn-only accepts (cellauth is stricter on purpose: padding,
// duplicate keys, `crit`, a kid that names a key never falling back, requireExpiration, ...) are
// counted by mutation and printed.
//
// Replay: DIFF_SEED=<n> (default below), DIFF_CASES=<n> (at most 1500), DIFF_VERBOSE=1 prints
// every disagreement, DIFF_DUMP=<file> writes every case and both answers as JSON lines. The
// tokens are signed by throwaway test keys: printing them is fine.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startEnvoy, type Envoy } from '../lib/envoy.ts';
import { startUpstream, type Upstream } from '../lib/upstream.ts';
import { makeKey, type TestKey } from '../lib/keys.ts';
import { nowSeconds } from '../lib/mint.ts';
import { cellauthListener, jwtAuthnListener, signRaw, signBytes, type Provider } from '../lib/side-by-side.ts';

const SEED = Number(process.env.DIFF_SEED ?? 0x5eed2026);
const CASES = Math.min(Number(process.env.DIFF_CASES ?? 1500), 1500);
const VERBOSE = process.env.DIFF_VERBOSE === '1';
const IN_FLIGHT = 8;

const ISS = 'https://accounts.idp.test';
const AUD = 'https://shop.cellauth.local';

// Documented, deliberate cases where cellauth accepts and jwt_authn refuses. Each entry names the
// mutations it covers and a check that the difference is exactly the documented one; anything else
// cellauth alone accepts fails the test. (docs/identity-providers.md's other tolerances are ones
// jwt_authn shares, except an EC key without `crv`, which this key set does not hold.)
interface Allowed { kinds: RegExp; why: string; holds: (c: Case, jwtAuthn: Reply) => Promise<boolean> }
const ALLOWED_CELLAUTH_ONLY: Allowed[] = [
  {
    // docs/identity-providers.md "Tolerances": the auth-scheme is case-insensitive (RFC 7235 §2.1,
    // RFC 6750 §2.1), so `bearer`/`BEARER` is matched; jwt_authn's value_prefix is case-sensitive and
    // answers "Jwt is missing". Holds only when jwt_authn accepts the very same token under `Bearer `.
    kinds: /^tr:(bearer-lower|BEARER)$/,
    why: 'case-insensitive Bearer scheme',
    holds: async (c, j) => j.status === 401 && /Jwt is missing/.test(j.body) &&
      (await send(envoy.port('jwt_authn'), `Bearer ${c.token}`)).status === 200,
  },
];

// ---------------------------------------------------------------------------------------------
// PRNG

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------------------------
// Keys and signers

interface Signer {
  name: string;
  key: TestKey;
  /** kid the token's header carries by default (null: none). */
  kid: string | null;
}

let signers: Signer[];
let rsPem: string;            // the RSA public key, as an attacker would find it (HMAC confusion)
let rsSpki: Buffer;
let rsN: Buffer;

interface Case {
  kind: string;
  token: string;
  /** The whole Authorization value, or several header lines; default `Bearer <token>`. */
  auth?: string | string[];
  /** Request path; default /diff. */
  path?: string;
  /** A token a real identity provider could emit: jwt_authn accepting and cellauth refusing it fails the test. */
  plausible: boolean;
}

const b64u = (b: Buffer | string) => Buffer.from(b).toString('base64url');
const b64std = (b: Buffer | string) => Buffer.from(b).toString('base64');
const b64pad = (b: Buffer | string) => { const s = b64u(b); return s + '='.repeat((4 - (s.length % 4)) % 4); };

// P-256 order, for high-S and out-of-range ECDSA signatures.
const P256_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
const big = (b: Buffer) => BigInt('0x' + (b.toString('hex') || '0'));
const be = (v: bigint, len: number) => Buffer.from(v.toString(16).padStart(len * 2, '0').slice(-len * 2), 'hex');

function derOfRaw(raw: Buffer): Buffer {
  const int = (b: Buffer) => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    let v = b.subarray(i);
    if (v[0] & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
    return Buffer.concat([Buffer.from([0x02, v.length]), v]);
  };
  const h = raw.length / 2;
  const body = Buffer.concat([int(raw.subarray(0, h)), int(raw.subarray(h))]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

// ---------------------------------------------------------------------------------------------
// The corpus

function buildCorpus(seed: number, max: number): Case[] {
  const rand = mulberry32(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)];
  const n = nowSeconds();
  const hdrOf = (s: Signer, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ alg: s.key.alg, typ: 'JWT', ...(s.kid !== null ? { kid: s.kid } : {}), ...extra });
  const basePayload = (extra: Record<string, unknown> = {}) => ({ iss: ISS, aud: AUD, sub: 'user-1', iat: n - 5, exp: n + 600, ...extra });
  const P = (extra: Record<string, unknown> = {}) => JSON.stringify(basePayload(extra));
  // Payload text with one member's raw JSON text replaced (or removed with undefined).
  const withRaw = (name: string, raw: string | undefined) => {
    const o: Record<string, unknown> = basePayload();
    delete o[name];
    const rest = JSON.stringify(o).slice(1, -1);
    return raw === undefined ? `{${rest}}` : `{${rest},"${name}":${raw}}`;
  };

  // ---- header mutations: (signer) -> header text, alg to sign with, and whether plausible ----
  type H = { hdr: string | Buffer; alg?: string; hmacSecret?: Uint8Array | string; pssSalt?: number; noSig?: boolean; plausible?: boolean };
  const headerMuts: Array<[string, (s: Signer) => H]> = [
    ['hdr:alg=none', (s) => ({ hdr: hdrOf(s, { alg: 'none' }), noSig: true })],
    ['hdr:alg=none+sig', (s) => ({ hdr: hdrOf(s, { alg: 'none' }) })],
    ['hdr:alg=None', (s) => ({ hdr: hdrOf(s, { alg: 'None' }), noSig: true })],
    ['hdr:alg=NONE', (s) => ({ hdr: hdrOf(s, { alg: 'NONE' }) })],
    ['hdr:alg-lowercase', (s) => ({ hdr: hdrOf(s, { alg: s.key.alg.toLowerCase() }) })],
    ['hdr:alg-trailing-space', (s) => ({ hdr: hdrOf(s, { alg: s.key.alg + ' ' }) })],
    ['hdr:alg-nul', (s) => ({ hdr: hdrOf(s, { alg: s.key.alg + '\u0000' }) })],
    ['hdr:alg-missing', (s) => ({ hdr: JSON.stringify({ typ: 'JWT', ...(s.kid ? { kid: s.kid } : {}) }) })],
    ['hdr:alg-number', (s) => ({ hdr: hdrOf(s, { alg: 256 }) })],
    ['hdr:alg-null', (s) => ({ hdr: hdrOf(s, { alg: null }) })],
    ['hdr:alg-array', (s) => ({ hdr: hdrOf(s, { alg: [s.key.alg] }) })],
    ['hdr:alg-object', (s) => ({ hdr: hdrOf(s, { alg: { name: s.key.alg } }) })],
    ['hdr:alg-other-family', (s) => ({ hdr: hdrOf(s, { alg: s.key.alg === 'RS256' ? 'ES256' : 'RS256' }) })],
    ['hdr:alg-RS384-signed-384', (s) => (s.key.alg === 'RS256' ? { hdr: hdrOf(s, { alg: 'RS384' }), alg: 'RS384' } : { hdr: hdrOf(s, { alg: 'ES384' }) })],
    ['hdr:alg-PS256-rsa-key', (s) => (s.key.alg === 'RS256' ? { hdr: hdrOf(s, { alg: 'PS256' }), alg: 'PS256', plausible: s.key.jwk.alg === undefined } : { hdr: hdrOf(s) , plausible: true })],
    ['hdr:PS256-salt-0', (s) => (s.key.alg === 'RS256' ? { hdr: hdrOf(s, { alg: 'PS256' }), alg: 'PS256', pssSalt: 0 } : { hdr: hdrOf(s, { alg: 'PS256' }) })],
    ['hdr:PS256-salt-max', (s) => (s.key.alg === 'RS256' ? { hdr: hdrOf(s, { alg: 'PS256' }), alg: 'PS256', pssSalt: 256 - 32 - 2 } : { hdr: hdrOf(s, { alg: 'PS256' }) })],
    ['hdr:HS256-pem-secret', (s) => ({ hdr: hdrOf(s, { alg: 'HS256' }), alg: 'HS256', hmacSecret: rsPem })],
    ['hdr:HS256-spki-secret', (s) => ({ hdr: hdrOf(s, { alg: 'HS256' }), alg: 'HS256', hmacSecret: rsSpki })],
    ['hdr:HS256-n-secret', (s) => ({ hdr: hdrOf(s, { alg: 'HS256' }), alg: 'HS256', hmacSecret: rsN })],
    ['hdr:HS256-empty-secret', (s) => ({ hdr: hdrOf(s, { alg: 'HS256' }), alg: 'HS256', hmacSecret: '' })],
    ['hdr:EdDSA', (s) => ({ hdr: hdrOf(s, { alg: 'EdDSA' }) })],
    ['hdr:\\u0061lg', (s) => ({ hdr: hdrOf(s).replace('"alg"', '"\\u0061lg"'), plausible: true })],
    ['hdr:alg-value-escaped', (s) => ({ hdr: hdrOf(s).replace(`"${s.key.alg}"`, `"${s.key.alg.slice(0, 2)}\\u0032\\u0035\\u0036"`), plausible: true })],
    ['hdr:kid-unknown', (s) => ({ hdr: hdrOf(s, { kid: 'no-such-kid' }), plausible: s.kid === null })],
    ['hdr:kid-missing', (s) => ({ hdr: JSON.stringify({ alg: s.key.alg, typ: 'JWT' }), plausible: true })],
    ['hdr:kid-empty', (s) => ({ hdr: hdrOf(s, { kid: '' }) })],
    ['hdr:kid-array', (s) => ({ hdr: hdrOf(s, { kid: [s.kid ?? 'x'] }) })],
    ['hdr:kid-number', (s) => ({ hdr: hdrOf(s, { kid: 1 }) })],
    ['hdr:kid-null', (s) => ({ hdr: hdrOf(s, { kid: null }) })],
    ['hdr:kid-object', (s) => ({ hdr: hdrOf(s, { kid: {} }) })],
    ['hdr:kid-injection', (s) => ({ hdr: hdrOf(s, { kid: pick(["../../../../dev/null", "' OR '1'='1", '"; DROP TABLE keys; --', '${jndi:ldap://x}', 'rs256\u0000', '*', '%s%s%s%n', 'x'.repeat(2048)]) }) })],
    ['hdr:kid-other-key', (s) => ({ hdr: hdrOf(s, { kid: signers.find((o) => o.kid && o.kid !== s.kid)!.kid }) })],
    ['hdr:kid-case', (s) => ({ hdr: hdrOf(s, { kid: (s.kid ?? 'k').toUpperCase() }), plausible: s.kid === null })],
    ['hdr:kid-escaped', (s) => ({ hdr: s.kid ? hdrOf(s).replace(`"${s.kid}"`, `"\\u00${s.kid.charCodeAt(0).toString(16)}${s.kid.slice(1)}"`) : hdrOf(s), plausible: true })],
    ['hdr:crit-b64', (s) => ({ hdr: hdrOf(s, { crit: ['b64'], b64: false }) })],
    ['hdr:crit-empty', (s) => ({ hdr: hdrOf(s, { crit: [] }) })],
    ['hdr:crit-exp', (s) => ({ hdr: hdrOf(s, { crit: ['exp'], exp: n + 60 }) })],
    ['hdr:crit-string', (s) => ({ hdr: hdrOf(s, { crit: 'b64' }) })],
    ['hdr:b64-false', (s) => ({ hdr: hdrOf(s, { b64: false }) })],
    ['hdr:jku', (s) => ({ hdr: hdrOf(s, { jku: 'https://attacker.test/jwks.json' }), plausible: true })],
    ['hdr:x5u', (s) => ({ hdr: hdrOf(s, { x5u: 'https://attacker.test/cert.pem' }), plausible: true })],
    ['hdr:jwk-own', (s) => ({ hdr: hdrOf(s, { jwk: s.key.jwk }), plausible: true })],
    ['hdr:x5c', (s) => ({ hdr: hdrOf(s, { x5c: ['MIIB'] }), plausible: true })],
    ['hdr:typ-at+jwt', (s) => ({ hdr: hdrOf(s, { typ: 'at+jwt' }), plausible: true })],
    ['hdr:typ-missing', (s) => ({ hdr: JSON.stringify({ alg: s.key.alg, ...(s.kid ? { kid: s.kid } : {}) }), plausible: true })],
    ['hdr:typ-number', (s) => ({ hdr: hdrOf(s, { typ: 7 }) })],
    ['hdr:cty-JWT', (s) => ({ hdr: hdrOf(s, { cty: 'JWT' }) })],
    ['hdr:dup-alg-none-last', (s) => ({ hdr: hdrOf(s).replace(/}$/, ',"alg":"none"}') })],
    ['hdr:dup-alg-none-first', (s) => ({ hdr: '{"alg":"none",' + hdrOf(s).slice(1) })],
    ['hdr:dup-alg-same', (s) => ({ hdr: hdrOf(s).replace(/}$/, `,"alg":"${s.key.alg}"}`) })],
    ['hdr:dup-kid', (s) => ({ hdr: hdrOf(s).replace(/}$/, ',"kid":"no-such-kid"}') })],
    ['hdr:dup-escaped-alg', (s) => ({ hdr: hdrOf(s).replace(/}$/, ',"\\u0061lg":"HS256"}') })],
    ['hdr:whitespace', (s) => ({ hdr: ' \n{ ' + hdrOf(s).slice(1, -1).replace(/,/g, ' ,\t').replace(/:/g, ' : ') + ' }\r\n', plausible: true })],
    ['hdr:pretty', (s) => ({ hdr: JSON.stringify(JSON.parse(hdrOf(s)), null, 2), plausible: true })],
    ['hdr:bom', (s) => ({ hdr: Buffer.concat([Buffer.from([0xEF, 0xBB, 0xBF]), Buffer.from(hdrOf(s))]) })],
    ['hdr:trailing-garbage', (s) => ({ hdr: hdrOf(s) + pick(['x', '}', ' {}', '\u0000', ',']) })],
    ['hdr:trailing-comma', (s) => ({ hdr: hdrOf(s).replace(/}$/, ',}') })],
    ['hdr:single-quotes', (s) => ({ hdr: hdrOf(s).replace(/"/g, "'") })],
    ['hdr:comment', (s) => ({ hdr: '/*x*/' + hdrOf(s) })],
    ['hdr:not-object', (s) => ({ hdr: pick(['[]', '"RS256"', 'null', '1', 'true', `[${hdrOf(s)}]`]) })],
    ['hdr:empty', () => ({ hdr: '' })],
    ['hdr:invalid-utf8', (s) => ({ hdr: Buffer.concat([Buffer.from(hdrOf(s).slice(0, -1)), Buffer.from(',"x":"'), Buffer.from([0xC0, 0xAF]), Buffer.from('"}')]) })],
    ['hdr:lone-surrogate', (s) => ({ hdr: hdrOf(s).replace(/}$/, ',"x":"\\ud800"}') })],
    ['hdr:utf8-member', (s) => ({ hdr: hdrOf(s, { 'x-ünï': 'café ✓' }), plausible: true })],
    ['hdr:deep', (s) => ({ hdr: hdrOf(s).replace(/}$/, `,"x":${'['.repeat(40)}${']'.repeat(40)}}`) })],
  ];

  // ---- payload mutations: () -> payload text and whether plausible ----
  type Pm = { body: string | Buffer; plausible?: boolean };
  const numberish = ['"' + (n + 600) + '"', 'null', 'true', '[' + (n + 600) + ']', '{}', '-1', '-0', '0', '-0.5', '1e400', '1E2', '9007199254740991',
    '9007199254740992', '18446744073709551616', '1e19', '1.8446744073709552e19', '1e308', String(n + 600) + '.999', (n + 600).toExponential(), '0.0', '-1e-9', '1e-400'];
  const payloadMuts: Array<[string, () => Pm]> = [
    ['pl:iss-missing', () => ({ body: withRaw('iss', undefined) })],
    ['pl:iss-null', () => ({ body: withRaw('iss', 'null') })],
    ['pl:iss-number', () => ({ body: withRaw('iss', '1') })],
    ['pl:iss-array', () => ({ body: withRaw('iss', JSON.stringify([ISS])) })],
    ['pl:iss-object', () => ({ body: withRaw('iss', '{}') })],
    ['pl:iss-variant', () => ({ body: P({ iss: pick([ISS + '/', ISS.toUpperCase(), ISS + '\u0000', ' ' + ISS, ISS.replace('https', 'http'), 'https://evil.test', '']) }) })],
    ['pl:iss-escaped', () => ({ body: withRaw('iss', `"\\u0068ttps:\\/\\/accounts.idp.test"`), plausible: true })],
    ['pl:aud-missing', () => ({ body: withRaw('aud', undefined) })],
    ['pl:aud-array', () => ({ body: P({ aud: [AUD] }), plausible: true })],
    ['pl:aud-array-many', () => ({ body: P({ aud: ['https://other.test', AUD, 'api://x'] }), plausible: true })],
    ['pl:aud-empty-array', () => ({ body: P({ aud: [] }) })],
    ['pl:aud-array-mixed', () => ({ body: withRaw('aud', pick([`["${AUD}",1]`, `[1,"${AUD}"]`, `["${AUD}",null]`, `[["${AUD}"]]`, `["${AUD}",{}]`])) })],
    ['pl:aud-wrong-type', () => ({ body: withRaw('aud', pick(['null', '1', 'true', `{"${AUD}":true}`])) })],
    ['pl:aud-variant', () => ({ body: P({ aud: pick([AUD + '/', AUD.toUpperCase(), AUD + '\u0000', 'https://other.test', '', AUD.replace('https', 'http')]) }) })],
    ['pl:aud-escaped', () => ({ body: withRaw('aud', `"https:\\/\\/shop.cellauth.local"`), plausible: true })],
    ['pl:sub-variant', () => ({ body: withRaw('sub', pick(['1', 'null', '["a"]', '{}', '""', '"\\u0000"'])) })],
    ['pl:sub-missing', () => ({ body: withRaw('sub', undefined), plausible: true })],
    ['pl:exp-missing', () => ({ body: withRaw('exp', undefined) })],     // requireExpiration: true by default (README)
    ['pl:exp-numberish', () => ({ body: withRaw('exp', pick(numberish)) })],
    ['pl:exp-float', () => ({ body: withRaw('exp', `${n + 600}.5`), plausible: true })],
    ['pl:exp-exponent', () => ({ body: withRaw('exp', (n + 600).toExponential()), plausible: true })],
    ['pl:exp-past', () => ({ body: withRaw('exp', String(n - pick([600, 3600, 86400]))) })],
    ['pl:exp-in-skew', () => ({ body: withRaw('exp', String(n - 20)), plausible: true })],
    ['pl:exp-far', () => ({ body: withRaw('exp', pick(['32503680000', '253402300799', '4102444800'])), plausible: true })],
    ['pl:nbf-numberish', () => ({ body: withRaw('nbf', pick(numberish)) })],
    ['pl:nbf-future', () => ({ body: withRaw('nbf', String(n + pick([300, 3600]))) })],
    ['pl:nbf-in-skew', () => ({ body: withRaw('nbf', String(n + 20)), plausible: true })],
    ['pl:nbf-float', () => ({ body: withRaw('nbf', `${n - 10}.25`), plausible: true })],
    ['pl:iat-numberish', () => ({ body: withRaw('iat', pick(numberish)) })],
    ['pl:iat-future', () => ({ body: withRaw('iat', String(n + 300)), plausible: true })],
    ['pl:iat-missing', () => ({ body: withRaw('iat', undefined), plausible: true })],
    ['pl:iat-float', () => ({ body: withRaw('iat', `${n - 5}.123`), plausible: true })],
    ['pl:dup-aud', () => ({ body: P().replace(/}$/, pick([',"aud":"https://other.test"}', `,"aud":"${AUD}"}`])) })],
    ['pl:dup-aud-first', () => ({ body: '{"aud":"https://other.test",' + P().slice(1) })],
    ['pl:dup-iss', () => ({ body: P().replace(/}$/, ',"iss":"https://evil.test"}') })],
    ['pl:dup-exp', () => ({ body: withRaw('exp', String(n - 3600)).replace(/}$/, `,"exp":${n + 600}}`) })],
    ['pl:dup-exp-first', () => ({ body: `{"exp":${n + 600},` + withRaw('exp', String(n - 3600)).slice(1) })],
    ['pl:dup-escaped', () => ({ body: P().replace(/}$/, ',"\\u0061ud":"https://other.test"}') })],
    ['pl:depth', () => { const d = pick([5, 14, 15, 16, 17, 31, 33, 99, 101, 200]); return { body: P().replace(/}$/, `,"x":${'['.repeat(d)}${']'.repeat(d)}}`), plausible: d <= 10 }; }],
    ['pl:depth-objects', () => { const d = pick([8, 15, 16, 40]); return { body: P().replace(/}$/, `,"x":${'{"a":'.repeat(d)}1${'}'.repeat(d)}}`), plausible: d <= 8 }; }],
    ['pl:bom', () => ({ body: Buffer.concat([Buffer.from([0xEF, 0xBB, 0xBF]), Buffer.from(P())]) })],
    ['pl:trailing-garbage', () => ({ body: P() + pick(['x', '}', ' {}', '\u0000', ',', ']', ' null']) })],
    ['pl:trailing-whitespace', () => ({ body: P() + pick([' ', '\n', '\r\n', '\t']), plausible: true })],
    ['pl:leading-whitespace', () => ({ body: pick([' ', '\n', '\t']) + P(), plausible: true })],
    ['pl:trailing-comma', () => ({ body: P().replace(/}$/, ',}') })],
    ['pl:not-object', () => ({ body: pick(['[]', '"x"', 'null', '1', `[${P()}]`, '']) })],
    ['pl:nan', () => ({ body: withRaw('exp', pick(['NaN', 'Infinity', '-Infinity', '+1', '.5', '1.', '01', '0x10', '1_000'])) })],
    ['pl:invalid-utf8', () => ({ body: Buffer.concat([Buffer.from(P().slice(0, -1)), Buffer.from(',"name":"'), Buffer.from(pick([[0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]])), Buffer.from('"}')]) })],
    ['pl:lone-surrogate', () => ({ body: P().replace(/}$/, pick([',"name":"\\ud800"}', ',"name":"\\udc00x"}', ',"\\ud83d":1}'])) })],
    ['pl:unicode-claims', () => ({ body: P({ name: 'Zoë Ünïcødé 😀', groups: ['π', 'ø'] }), plausible: true })],
    ['pl:escapes', () => ({ body: P().replace(/}$/, ',"x":"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00"}'), plausible: true })],
    ['pl:control-char', () => ({ body: P().replace(/}$/, ',"x":"a\u0001b"}') })],
    ['pl:big-claims', () => ({ body: P({ groups: Array.from({ length: 60 }, (_, i) => `group-${i}`), scope: 'a b c d e f' }), plausible: true })],
    ['pl:cnf-cell', () => ({ body: P({ cnf: { spiffe_id: 'spiffe://cluster.local/ns/x/sa/y' }, cell: 'other' }), plausible: true })],
  ];

  // ---- encoding mutations on a signed token (some re-sign): (token, signer) -> token ----
  type So = { alg: string; hmacSecret?: Uint8Array | string; pssSalt?: number };
  type E = (t: string, s: Signer, hdr: Buffer, body: Buffer, so: So) => string;
  const seg = (t: string) => t.split('.');
  const sigBuf = (t: string) => Buffer.from(seg(t)[2] ?? '', 'base64url');
  const withSig = (t: string, sig: Buffer) => `${seg(t)[0]}.${seg(t)[1]}.${b64u(sig)}`;
  const encodingMuts: Array<[string, E]> = [
    ['enc:pad-sig', (t) => { const s = seg(t); return `${s[0]}.${s[1]}.${b64pad(sigBuf(t))}`; }],
    ['enc:pad-header-resigned', (t, s, h, b, so) => signRaw(s.key, h, b, { ...so, encode: b64pad })],
    ['enc:pad-all-resigned', (t, s, h, b, so) => { const r = signRaw(s.key, h, b, { ...so, encode: b64pad }); return `${seg(r)[0]}.${seg(r)[1]}.${b64pad(sigBuf(r))}`; }],
    ['enc:pad-unsigned', (t) => { const s = seg(t); return `${s[0]}==.${s[1]}.${s[2]}`; }],
    ['enc:std-b64-resigned', (t, s, h, b, so) => { const r = signRaw(s.key, h, b, { ...so, encode: (x) => b64std(x).replace(/=+$/, '') }); return `${seg(r)[0]}.${seg(r)[1]}.${b64std(sigBuf(r)).replace(/=+$/, '')}`; }],
    ['enc:std-b64-sig', (t) => { const s = seg(t); return `${s[0]}.${s[1]}.${b64std(sigBuf(t)).replace(/=+$/, '')}`; }],
    ['enc:std-b64-sig-padded', (t) => { const s = seg(t); return `${s[0]}.${s[1]}.${b64std(sigBuf(t))}`; }],
    ['enc:noncanonical-tail', (t) => {
      // Unused low bits set in the last character of a segment: decodes to the same bytes in lenient decoders.
      const s = seg(t); const i = pick([0, 1, 2]); const v = s[i];
      const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      if (v.length % 4 === 0 || v.length % 4 === 1) return t + '!';
      const last = A.indexOf(v[v.length - 1]);
      const mask = v.length % 4 === 2 ? 0x0f : 0x03;
      s[i] = v.slice(0, -1) + A[(last & ~mask) | (1 + Math.floor(rand() * mask))];
      return s.join('.');
    }],
    ['enc:whitespace-in-segment', (t) => { const at = 1 + Math.floor(rand() * (t.length - 2)); return t.slice(0, at) + pick([' ', '\t', '%20']) + t.slice(at); }],
    ['enc:space-around-dot', (t) => { const s = seg(t); return pick([`${s[0]} .${s[1]}.${s[2]}`, `${s[0]}. ${s[1]}.${s[2]}`, `${s[0]}.${s[1]} .${s[2]}`]); }],
    ['enc:newline-in-segment', (t) => t.slice(0, 40) + pick(['\\n', '%0A']) + t.slice(40)],
    ['enc:four-segments', (t) => t + '.' + seg(t)[2]],
    ['enc:five-segments-jwe', (t) => { const s = seg(t); return `${s[0]}.${s[1]}.${s[2]}.${s[1]}.${s[2]}`; }],
    ['enc:two-segments', (t) => { const s = seg(t); return `${s[0]}.${s[1]}`; }],
    ['enc:one-segment', (t) => seg(t)[pick([0, 1, 2])]],
    ['enc:empty-header', (t) => { const s = seg(t); return `.${s[1]}.${s[2]}`; }],
    ['enc:empty-payload', (t) => { const s = seg(t); return `${s[0]}..${s[2]}`; }],
    ['enc:empty-payload-resigned', (t, s, h, b, so) => signRaw(s.key, h, '', so)],
    ['enc:empty-sig', (t) => { const s = seg(t); return `${s[0]}.${s[1]}.`; }],
    ['enc:trailing-dot', (t) => t + '.'],
    ['enc:leading-dot', (t) => '.' + t],
    ['enc:double-dot', (t) => { const s = seg(t); return `${s[0]}..${s[1]}.${s[2]}`; }],
    ['enc:non-ascii', (t) => { const at = Math.floor(rand() * t.length); return t.slice(0, at) + Buffer.from(pick(['é', 'Ａ', '\u00a0', '✓'])).toString('latin1') + t.slice(at); }],
    ['enc:sig-bitflip', (t) => { const b = sigBuf(t); b[Math.floor(rand() * b.length)] ^= 1 << Math.floor(rand() * 8); return withSig(t, b); }],
    ['enc:sig-truncated', (t) => { const s = seg(t); return `${s[0]}.${s[1]}.${s[2].slice(0, s[2].length - 1 - Math.floor(rand() * 8))}`; }],
    ['enc:sig-byte-dropped', (t) => withSig(t, sigBuf(t).subarray(0, -1))],
    ['enc:sig-extended', (t) => withSig(t, Buffer.concat([sigBuf(t), Buffer.from([pick([0, 1, 0xff])])]))],
    ['enc:sig-zero-prefixed', (t) => withSig(t, Buffer.concat([Buffer.from([0]), sigBuf(t)]))],
    ['enc:sig-of-other-token', (t, s) => withSig(t, signBytes(s.key, s.key.alg, Buffer.from('other')))],
    ['enc:payload-swapped', (t) => { const s = seg(t); return `${s[0]}.${b64u(P({ sub: 'root' }))}.${s[2]}`; }],
    ['enc:header-swapped', (t, s) => { const x = seg(t); return `${b64u(JSON.stringify({ alg: s.key.alg, kid: 'other', typ: 'JWT' }))}.${x[1]}.${x[2]}`; }],
    ['enc:ecdsa-der', (t, s, h, b, so) => (so.alg.startsWith('ES') ? withSig(t, derOfRaw(sigBuf(t))) : t + 'A')],
    ['enc:ecdsa-der-signed', (t, s, h, b, so) => { if (!so.alg.startsWith('ES')) return withSig(t, Buffer.alloc(0)); const x = seg(t); return `${x[0]}.${x[1]}.${b64u(signBytes(s.key, so.alg, Buffer.from(`${x[0]}.${x[1]}`), { der: true }))}`; }],
    ['enc:ecdsa-high-s', (t, s, h, b, so) => {
      // s -> n - s: the same signature under malleability; a real P-256 signer emits either half.
      if (so.alg !== 'ES256') return t;
      const sig = sigBuf(t); if (sig.length !== 64) return t;
      return withSig(t, Buffer.concat([sig.subarray(0, 32), be(P256_N - big(sig.subarray(32)), 32)]));
    }],
    ['enc:ecdsa-out-of-range', (t, s, h, b, so) => {
      if (so.alg !== 'ES256') return withSig(t, Buffer.alloc(256));
      const sig = sigBuf(t); if (sig.length !== 64) return t;
      const r = sig.subarray(0, 32); const sv = sig.subarray(32);
      return withSig(t, pick([
        Buffer.concat([r, be(big(sv) + P256_N, 32)]),      // s + n (truncated to 32 bytes when it overflows)
        Buffer.concat([be(big(r) + P256_N, 32), sv]),
        Buffer.alloc(64),
        Buffer.concat([Buffer.alloc(32), sv]),
        Buffer.concat([r, Buffer.alloc(32)]),
        Buffer.concat([be(P256_N, 32), sv]),
        Buffer.concat([r, be(P256_N, 32)]),
        Buffer.alloc(64, 0xff),
      ]));
    }],
    ['enc:rsa-sig-plus-n', (t, s, h, b, so) => (so.alg.startsWith('RS') || so.alg.startsWith('PS') ? withSig(t, be(big(sigBuf(t)) + big(rsN), 257)) : t + '.')],
  ];

  // ---- transport: the Authorization value around a token (a few) ----
  const transports: Array<[string, (t: string) => string | string[] | { path: string; auth?: string }, boolean]> = [
    ['tr:bearer-lower', (t) => `bearer ${t}`, true],
    ['tr:BEARER', (t) => `BEARER ${t}`, true],
    ['tr:double-space', (t) => `Bearer  ${t}`, false],
    ['tr:tab', (t) => `Bearer\t${t}`, false],
    ['tr:comma-second', (t) => `Bearer ${t}, Bearer other`, false],
    ['tr:trailing-comma', (t) => `Bearer ${t},`, false],
    ['tr:no-space', (t) => `Bearer${t}`, false],
    ['tr:no-scheme', (t) => t, false],
    ['tr:basic', (t) => `Basic ${t}`, false],
    ['tr:quoted', (t) => `Bearer "${t}"`, false],
    ['tr:two-headers-bad-first', (t) => ['Bearer x.y.z', `Bearer ${t}`], false],
    ['tr:two-headers-bad-last', (t) => [`Bearer ${t}`, 'Bearer x.y.z'], false],
    ['tr:query', (t) => ({ path: `/diff?access_token=${encodeURIComponent(t)}` }), true],
    ['tr:query-and-bad-header', (t) => ({ path: `/diff?access_token=${encodeURIComponent(t)}`, auth: 'Bearer x.y.z' }), false],
  ];

  const out: Case[] = [];
  const seen = new Set<string>();
  const add = (c: Case) => {
    const key = JSON.stringify([c.auth ?? `Bearer ${c.token}`, c.path]);
    if (seen.has(key) || out.length >= max) return;
    seen.add(key);
    out.push(c);
  };
  type Mut = { h?: number; p?: number; e?: number; t?: number };
  const make = (s: Signer, m: Mut) => {
    const hm = m.h !== undefined ? headerMuts[m.h][1](s) : { hdr: hdrOf(s), plausible: true } as H;
    const pm = m.p !== undefined ? payloadMuts[m.p][1]() : { body: P(), plausible: true } as Pm;
    const alg = hm.alg ?? s.key.alg;
    const hdr = Buffer.from(hm.hdr);
    const body = Buffer.from(pm.body);
    let token = hm.noSig ? `${b64u(hdr)}.${b64u(body)}.` : signRaw(s.key, hdr, body, { alg, hmacSecret: hm.hmacSecret, pssSalt: hm.pssSalt });
    if (m.e !== undefined) token = encodingMuts[m.e][1](token, s, hdr, body, { alg, hmacSecret: hm.hmacSecret, pssSalt: hm.pssSalt });
    const kinds = [m.h !== undefined ? headerMuts[m.h][0] : '', m.p !== undefined ? payloadMuts[m.p][0] : '', m.e !== undefined ? encodingMuts[m.e][0] : '', m.t !== undefined ? transports[m.t][0] : ''].filter(Boolean);
    // Plausible only when every part is something a provider emits (high-S ECDSA is one; the other encodings are not).
    const encPlausible = m.e === undefined || encodingMuts[m.e][0] === 'enc:ecdsa-high-s';
    const trPlausible = m.t === undefined || transports[m.t][2];
    const tr = m.t !== undefined ? transports[m.t][1](token) : undefined;
    const where = tr === undefined ? {} : typeof tr === 'string' || Array.isArray(tr) ? { auth: tr } : tr;
    add({
      kind: kinds.length ? `${s.name} ${kinds.join(' + ')}` : `${s.name} valid`,
      token,
      ...where,
      plausible: !!hm.plausible && !!pm.plausible && encPlausible && trPlausible,
    });
  };

  // 1. Every signer's valid token, then every single mutation once per signer.
  for (const s of signers) make(s, {});
  for (const s of signers) {
    headerMuts.forEach((_, i) => make(s, { h: i }));
    payloadMuts.forEach((_, i) => make(s, { p: i }));
    encodingMuts.forEach((_, i) => make(s, { e: i }));
  }
  transports.forEach((_, i) => make(signers[i % signers.length], { t: i }));
  // An RSA signature that starts with a zero byte (1 token in 256 a provider signs): kept, it is a
  // valid token; stripped (255 bytes), it is the same integer, which RFC 8017 §8.2.2 refuses.
  for (const s of signers.filter((x) => x.key.alg === 'RS256')) {
    for (let jti = 0; jti < 8192; jti++) {
      const t = signRaw(s.key, hdrOf(s), P({ jti: `z${jti}` }));
      const sig = sigBuf(t);
      if (sig[0] !== 0) continue;
      add({ kind: `${s.name} rsa-sig-leading-zero`, token: t, plausible: true });
      add({ kind: `${s.name} enc:rsa-sig-leading-zero-stripped`, token: withSig(t, sig.subarray(1)), plausible: false });
      break;
    }
  }
  // 2. Random combinations of two or three mutations until the bound.
  for (let guard = 0; out.length < max && guard < max * 4; guard++) {
    const m: Mut = {};
    while (Object.keys(m).length < 2) {
      const r = rand();
      if (r < 0.35) m.h = Math.floor(rand() * headerMuts.length);
      else if (r < 0.75) m.p = Math.floor(rand() * payloadMuts.length);
      else if (r < 0.97) m.e = Math.floor(rand() * encodingMuts.length);
      else m.t = Math.floor(rand() * transports.length);
    }
    make(pick(signers), m);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Envoy

let upstream: Upstream;
let envoy: Envoy;

before(async () => {
  const rs = await makeKey('RS256');
  const rsAnon = await makeKey('RS256');
  const es = await makeKey('ES256');
  const esAnon = await makeKey('ES256');
  // RS256 with kid and alg; RS256 with neither; ES256 with kid, no alg; ES256 with alg, no kid.
  const { kid: _k1, alg: _a1, ...rsAnonJwk } = rsAnon.jwk;
  const { alg: _a2, ...esJwk } = es.jwk;
  const { kid: _k3, ...esAnonJwk } = esAnon.jwk;
  rsAnon.jwk = rsAnonJwk; es.jwk = esJwk; esAnon.jwk = esAnonJwk;
  signers = [
    { name: 'RS256/kid', key: rs, kid: rs.kid },
    { name: 'RS256/anon', key: rsAnon, kid: null },
    { name: 'ES256/kid', key: es, kid: es.kid },
    { name: 'ES256/anon', key: esAnon, kid: null },
  ];
  const { createPublicKey } = await import('node:crypto');
  const pub = createPublicKey({ key: rs.jwk as any, format: 'jwk' });
  rsPem = pub.export({ format: 'pem', type: 'spki' }) as string;
  rsSpki = rs.spki!;
  rsN = Buffer.from(rs.jwk.n!, 'base64url');
  const provider: Provider = { issuer: ISS, audiences: [AUD], jwks: { keys: [rs.jwk, rsAnonJwk, esJwk, esAnonJwk] } };
  upstream = await startUpstream();
  envoy = await startEnvoy({
    clusters: { upstream: upstream.port },
    concurrency: 2,
    listeners: [cellauthListener('cellauth', provider, { vmId: 'diff' }), jwtAuthnListener('jwt_authn', provider)],
  });
});

after(async () => { await envoy?.stop(); await upstream?.close(); });

interface Reply { status: number; wwwAuthenticate?: string; body: string }

const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });

function send(port: number, auth: string | string[] | undefined, path = '/diff'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers = auth === undefined ? {} : { authorization: auth };
    const req = http.request({ host: '127.0.0.1', port, path, method: 'GET', agent, headers, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, wwwAuthenticate: res.headers['www-authenticate'] as string | undefined, body: Buffer.concat(chunks).toString() }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function pool<T, R>(items: T[], width: number, f: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) { const i = next++; out[i] = await f(items[i]); }
  }));
  return out;
}

const kindOf = (k: string) => k.replace(/^\S+ /, '');

test(`differential fuzz: ${CASES} mutated tokens (seed ${SEED}), cellauth vs jwt_authn in real Envoy`, async () => {
  const started = Date.now();
  const corpus = buildCorpus(SEED, CASES);
  const cPort = envoy.port('cellauth');
  const jPort = envoy.port('jwt_authn');
  const before = await envoy.stats();

  const results = await pool(corpus, IN_FLIGHT, async (c) => {
    const auth = c.path !== undefined ? c.auth : (c.auth ?? `Bearer ${c.token}`);
    const [cr, jr] = await Promise.all([send(cPort, auth, c.path), send(jPort, auth, c.path)]);
    return { c, cr, jr };
  });

  const counts = { both_accept: 0, both_refuse: 0, cellauth_only: 0, jwt_authn_only: 0 };
  const cellauthOnly: string[] = [];
  const allowedCount = new Map<string, number>();
  const badRefusals: string[] = [];
  const plausibleRefused: string[] = [];
  const jwtAuthnOnlyByKind = new Map<string, number>();
  const statusByCellauth = new Map<string, number>();
  for (const { c, cr, jr } of results) {
    const cOk = cr.status === 200;
    const jOk = jr.status === 200;
    const line = () => `${c.kind}: cellauth ${cr.status} ${cr.body.slice(0, 120)} | jwt_authn ${jr.status} ${jr.body.slice(0, 80)} | ${c.path ?? ''} Authorization: ${JSON.stringify(c.auth ?? (c.path ? null : 'Bearer ' + c.token)).slice(0, 600)}`;
    if (cOk && jOk) counts.both_accept++;
    else if (!cOk && !jOk) counts.both_refuse++;
    else if (cOk) {
      counts.cellauth_only++;
      const allowed = ALLOWED_CELLAUTH_ONLY.find((a) => kindOf(c.kind).split(' + ').some((k) => a.kinds.test(k)));
      if (allowed && await allowed.holds(c, jr)) allowedCount.set(allowed.why, (allowedCount.get(allowed.why) ?? 0) + 1);
      else cellauthOnly.push(line());
    } else {
      counts.jwt_authn_only++;
      jwtAuthnOnlyByKind.set(kindOf(c.kind), (jwtAuthnOnlyByKind.get(kindOf(c.kind)) ?? 0) + 1);
      if (c.plausible) plausibleRefused.push(line());
      if (VERBOSE) console.log(`jwt_authn only: ${line()}`);
    }
    if (!cOk) {
      let st = '?';
      try { st = JSON.parse(cr.body).status; } catch { /* checked below */ }
      statusByCellauth.set(st, (statusByCellauth.get(st) ?? 0) + 1);
      const challenge = cr.wwwAuthenticate ?? '';
      const echoes = c.token.length >= 16 && cr.body.includes(c.token);
      if (![401, 403].includes(cr.status) || !/^Bearer realm="[^"]*"/.test(challenge) || echoes) {
        badRefusals.push(`${line()} | WWW-Authenticate: ${challenge}${echoes ? ' | body echoes the token' : ''}`);
      }
    }
    // jwt_authn itself must answer every token (a 5xx or a reset means Envoy is in trouble).
    if (![200, 401, 403].includes(jr.status)) badRefusals.push(`jwt_authn answered ${jr.status}: ${line()}`);
  }

  // Envoy is up, the VM neither crashed nor reloaded, and the valid tokens still pass.
  const ready = await fetch(`${envoy.adminUrl}/ready`, { signal: AbortSignal.timeout(2000) });
  assert.equal(ready.status, 200, 'admin /ready');
  assert.equal((await ready.text()).trim(), 'LIVE');
  const after = await envoy.stats();
  const wasmFailures = [...after].filter(([k, v]) => /^wasm\./.test(k) && /fail|reload(?!_backoff)/.test(k) && !/remote_load/.test(k) && v !== (before.get(k) ?? 0));
  assert.deepEqual(wasmFailures, [], 'wasm failure or reload counters moved');
  assert.equal(after.get('wasm.envoy.wasm.runtime.v8.active'), before.get('wasm.envoy.wasm.runtime.v8.active'), 'active wasm VMs');
  assert.doesNotMatch(envoy.logs(), /panic|abort|wasm trap|Function: proxy_on_\w+ failed|Uncaught|RuntimeError/i, 'Envoy log');
  for (const s of signers) {
    const valid = corpus.find((c) => c.kind === `${s.name} valid`)!;
    assert.equal((await send(cPort, `Bearer ${valid.token}`)).status, 200, `cellauth still accepts ${s.name}`);
  }

  if (process.env.DIFF_DUMP) {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(process.env.DIFF_DUMP, results.map(({ c, cr, jr }) => JSON.stringify({ kind: c.kind, cellauth: cr.status, cStatus: cr.body.startsWith('{"status"') ? JSON.parse(cr.body).status : undefined, jwt_authn: jr.status, jBody: jr.status === 200 ? undefined : jr.body, auth: c.auth, path: c.path, token: c.token })).join('\n') + '\n');
  }
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`differential seed=${SEED} tokens=${corpus.length}: both_accept=${counts.both_accept} both_refuse=${counts.both_refuse} cellauth_only=${counts.cellauth_only} jwt_authn_only=${counts.jwt_authn_only} (${secs}s)`);
  if (jwtAuthnOnlyByKind.size) {
    const single = new Map<string, number>();
    for (const [k, v] of jwtAuthnOnlyByKind) for (const m of k.split(' + ')) single.set(m, (single.get(m) ?? 0) + v);
    const top = [...single].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([k, v]) => `${k}=${v}`).join(', ');
    console.log(`  jwt_authn-only accepts by mutation: ${top}`);
  }
  if (VERBOSE) console.log(`  cellauth refusals by status: ${[...statusByCellauth].map(([k, v]) => `${k}=${v}`).join(', ')}`);

  if (allowedCount.size) console.log(`  allow-listed cellauth-only accepts: ${[...allowedCount].map(([k, v]) => `${k}=${v}`).join(', ')}`);
  assert.deepEqual({ cellauthOnly, badRefusals, plausibleRefused }, { cellauthOnly: [], badRefusals: [], plausibleRefused: [] },
    'cellOnly: cellauth accepted tokens jwt_authn refuses (not allow-listed); badRefusals: a refusal without 401/403 and a Bearer challenge; ' +
    'plausibleRefused: jwt_authn accepts a token a real provider would emit and cellauth refuses it');
  assert.ok(counts.both_accept >= signers.length, 'the valid tokens are accepted by both');
});
