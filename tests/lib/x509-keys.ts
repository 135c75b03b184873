// Google's X.509 key map, as served for Google service accounts and Firebase ID tokens
// (`{"<kid>": "-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n"}`): a self-signed
// certificate per test key, made with @peculiar/x509 from the key's own WebCrypto key pair.
import { webcrypto } from 'node:crypto';
import 'reflect-metadata'; // @peculiar/x509 resolves its ASN.1 providers through tsyringe, which needs it
import * as x509 from '@peculiar/x509';
import type { CryptoKey } from 'jose';
import type { TestKey } from './keys.ts';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

function algorithmOf(k: TestKey): RsaHashedImportParams | EcKeyImportParams & { hash: string } {
  if (k.alg.startsWith('RS')) return { name: 'RSASSA-PKCS1-v1_5', hash: `SHA-${k.alg.slice(2)}` };
  if (k.alg === 'ES256') return { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  if (k.alg === 'ES384') return { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' };
  throw new Error(`no X.509 test certificate for ${k.alg}`);
}

/** A PEM certificate (self-signed, valid for a day) for the test key's public key. */
export async function certificatePem(k: TestKey, subject = 'CN=securetoken.test'): Promise<string> {
  const alg = algorithmOf(k);
  const { kid: _k, alg: _a, use: _u, ...jwk } = k.jwk as Record<string, unknown>;
  const publicKey = await webcrypto.subtle.importKey('jwk', jwk as JsonWebKey, alg, true, ['verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01' + Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString('hex'),
    name: subject,
    notBefore: new Date(Date.now() - 3600_000),
    notAfter: new Date(Date.now() + 24 * 3600_000),
    signingAlgorithm: alg,
    keys: { privateKey: k.signingKey as CryptoKey as unknown as globalThis.CryptoKey, publicKey },
    extensions: [new x509.BasicConstraintsExtension(false, undefined, true)],
  });
  return cert.toString('pem') + '\n';
}

/** `{kid: PEM}` for the keys, exactly the shape of Google's x509 metadata endpoints. */
export async function googleCertMap(...keys: TestKey[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const k of keys) out[k.kid] = await certificatePem(k);
  return out;
}
