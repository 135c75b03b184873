// cellauth and Envoy's native jwt_authn side by side in one real Envoy, on the same issuer,
// audiences and keys: the listener specs, and a raw signer for tokens whose header or payload
// text is exactly what a test writes (duplicate keys, escapes, whitespace, bytes that are not
// UTF-8), signed with a real key so that only the text under test differs.
import { KeyObject, createHmac, sign as nodeSign, constants } from 'node:crypto';
import type { ListenerSpec } from './envoy-config.ts';
import type { TestKey } from './keys.ts';

export interface Provider {
  issuer: string;
  audiences: string[];
  /** The JWKS both filters get inline. */
  jwks: { keys: object[] };
}

/** A listener with Envoy's jwt_authn requiring one provider for every path. */
export function jwtAuthnListener(name: string, p: Provider, extra: Record<string, unknown> = {}): ListenerSpec {
  return {
    name,
    filters: [{ raw: {
      name: 'envoy.filters.http.jwt_authn',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication',
        providers: { idp: { issuer: p.issuer, audiences: p.audiences, local_jwks: { inline_string: JSON.stringify(p.jwks) }, ...extra } },
        rules: [{ match: { prefix: '/' }, requires: { provider_name: 'idp' } }],
      },
    } }],
  };
}

/** A listener with cellauth (inline JWKS, one jwtRule) and its own VM. */
export function cellauthListener(name: string, p: Provider, opts: { vmId?: string; cell?: string; rule?: Record<string, unknown>; config?: Record<string, unknown> } = {}): ListenerSpec {
  const rule = { issuer: p.issuer, audiences: p.audiences, jwks: p.jwks, ...opts.rule };
  return {
    name,
    filters: [{ wasm: { vmId: opts.vmId ?? name, pluginConfig: { version: 'v1', cell: opts.cell ?? 'shop', jwtRules: [rule], ...opts.config } } }],
  };
}

const hashOf = (alg: string) => (alg.endsWith('384') ? 'sha384' : alg.endsWith('512') ? 'sha512' : 'sha256');

/**
 * Signs `<b64url(header)>.<b64url(payload)>` with `key` under `alg` (default the key's), where
 * header and payload are taken byte for byte. `encode` replaces base64url for the two segments
 * (e.g. padded or standard base64): the signature is over the segments as written.
 * ES*: raw r||s (JWS); `der: true` gives the DER form instead. PS*: salt = hash length unless `pssSalt`.
 */
export function signRaw(key: TestKey, header: string | Buffer, payload: string | Buffer,
  opts: { alg?: string; encode?: (b: Buffer) => string; der?: boolean; hmacSecret?: Uint8Array | string; pssSalt?: number } = {}): string {
  const enc = opts.encode ?? ((b: Buffer) => b.toString('base64url'));
  const input = `${enc(Buffer.from(header))}.${enc(Buffer.from(payload))}`;
  const alg = opts.alg ?? key.alg;
  return `${input}.${signBytes(key, alg, Buffer.from(input), opts).toString('base64url')}`;
}

export function signBytes(key: TestKey, alg: string, data: Buffer, opts: { der?: boolean; hmacSecret?: Uint8Array | string; pssSalt?: number } = {}): Buffer {
  const h = hashOf(alg);
  if (alg.startsWith('HS')) return createHmac(h, opts.hmacSecret ?? (key.signingKey as Uint8Array)).update(data).digest();
  const k = KeyObject.from(key.signingKey as CryptoKey);
  if (alg.startsWith('ES')) return nodeSign(h, data, { key: k, dsaEncoding: opts.der ? 'der' : 'ieee-p1363' });
  if (alg.startsWith('PS')) return nodeSign(h, data, { key: k, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: opts.pssSalt ?? (h === 'sha256' ? 32 : h === 'sha384' ? 48 : 64) });
  return nodeSign(h, data, k);
}
