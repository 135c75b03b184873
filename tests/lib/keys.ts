// Test signing keys for every JWS algorithm cellauth handles, with a kid and a public JWKS.
// HS* keys are symmetric: their "public" JWK carries the secret, as an inline oct JWKS must.
import { exportJWK, generateKeyPair, generateSecret, type JWK, type CryptoKey } from 'jose';

export type Alg = 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'EdDSA' | 'HS256' | 'HS384' | 'HS512';

export interface TestKey {
  alg: Alg;
  kid: string;
  /** Signs: a private key, or the secret for HS*. */
  signingKey: CryptoKey | Uint8Array;
  /** The JWK a verifier gets (public part; the oct secret for HS*), with kid, alg and use. */
  jwk: JWK;
  /** DER SubjectPublicKeyInfo of the public key (not for HS*). */
  spki?: Buffer;
}

let counter = 0;

export async function makeKey(alg: Alg, kid = `${alg.toLowerCase()}-${++counter}`): Promise<TestKey> {
  if (alg.startsWith('HS')) {
    const secret = await generateSecret(alg, { extractable: true });
    const jwk = await exportJWK(secret);
    const raw = Buffer.from(jwk.k!, 'base64url');
    return { alg, kid, signingKey: new Uint8Array(raw), jwk: { ...jwk, kid, alg, use: 'sig' } };
  }
  const opts = alg === 'EdDSA' ? { extractable: true, crv: 'Ed25519' } : { extractable: true, modulusLength: 2048 };
  const { privateKey, publicKey } = await generateKeyPair(alg, opts);
  const jwk = await exportJWK(publicKey);
  const { createPublicKey } = await import('node:crypto');
  const spki = createPublicKey({ key: jwk as any, format: 'jwk' }).export({ format: 'der', type: 'spki' });
  return { alg, kid, signingKey: privateKey, jwk: { ...jwk, kid, alg, use: 'sig' }, spki };
}

export function jwksOf(...keys: TestKey[]): { keys: JWK[] } {
  return { keys: keys.map((k) => ({ ...k.jwk })) };
}

export const ALL_ALGS: Alg[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA', 'HS256', 'HS384', 'HS512'];
