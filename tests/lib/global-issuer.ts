// A local "global" (edge) issuer for tests and the demo: an ES256 key pair whose public JWKS
// goes into an STS config's globalJWKS, and a function that mints user tokens with it.
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload, type CryptoKey } from "jose";

export interface GlobalIssuer {
  issuer: string;
  /** Public keys only, for `globalJWKS.jwks`. */
  jwks: { keys: JWK[] };
  kid: string;
  /** Mints a token; `expiresIn` seconds from now (negative = already expired). */
  mint(claims: JWTPayload, opts?: { expiresIn?: number; issuer?: string; kid?: string }): Promise<string>;
}

export async function createGlobalIssuer(issuer = "https://idp.cellauth.local"): Promise<GlobalIssuer> {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  const pub = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(pub);
  return {
    issuer,
    kid,
    jwks: { keys: [{ ...pub, kid, alg: "ES256", use: "sig" }] },
    mint: (claims, opts = {}) => mintWith(privateKey, opts.kid ?? kid, opts.issuer ?? issuer, claims, opts.expiresIn ?? 300),
  };
}

async function mintWith(key: CryptoKey, kid: string, issuer: string, claims: JWTPayload, expiresIn: number): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "ES256", kid, typ: "JWT" })
    .setIssuer(issuer)
    .setIssuedAt(now - (expiresIn < 0 ? 600 : 0))
    .setExpirationTime(now + expiresIn)
    .sign(key);
}
