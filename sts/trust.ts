// The issuers this cell trusts (the global issuer, peer cells' STSs, itself) and the one
// function that verifies a token against them: signature, issuer, time with clock skew, audience.
import { readFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import type { PeerCertificate } from "node:tls";
import { uriSans } from "./identity.ts";
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  decodeProtectedHeader,
  jwtVerify,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JSONWebKeySet,
} from "jose";
import type { StsConfig } from "./config.ts";
import type { KeyStore } from "./keys.ts";

/** Stable reasons, like jose's error codes; they reach logs and error descriptions, never the token. */
export type RejectReason =
  | "malformed"
  | "untrusted_issuer"
  | "bad_signature"
  | "expired"
  | "not_yet_valid"
  | "missing_claim"
  | "wrong_audience"
  | "cell_mismatch"
  | "jwks_unavailable";

export class TokenRejected extends Error {
  constructor(readonly reason: RejectReason, message: string) {
    super(message);
  }
}

export interface Verified {
  payload: JWTPayload;
  issuer: string;
  /** Issued by the global (edge) issuer rather than by a cell's STS. */
  global: boolean;
  /** The cell of a cell STS issuer (from the verified issuer, never from a claim). */
  cell?: { name: string; namespace: string };
}

interface Issuer {
  getKey: JWTVerifyGetKey;
  global: boolean;
  cell?: { name: string; namespace: string };
}

// Asymmetric algorithms only: `none` and HMAC (key confusion with a public key) are refused.
const ALGORITHMS = ["ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"];

export function stsIssuer(cell: string, namespace: string): string {
  return `${cell}--sts-service.${namespace}`;
}

export function cellAudience(cell: string, namespace: string): string {
  return `${cell}.${namespace}`;
}

const MAX_JWKS_BYTES = 256 * 1024;

/**
 * A fetch for jose that presents this STS's own certificate (mutual TLS to a peer STS) and
 * verifies the server against our CA and, instead of a host name, the peer STS's SPIFFE ID.
 */
export function mtlsFetch(tls: { cert: string; key: string; ca: string }, expectSpiffeId: string) {
  return (url: string, options: { headers?: Headers; signal?: AbortSignal }): Promise<Response> =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string> = {};
      options.headers?.forEach((v, k) => (headers[k] = v));
      const req = httpsRequest(
        url,
        {
          method: "GET",
          headers,
          cert: tls.cert,
          key: tls.key,
          ca: tls.ca,
          signal: options.signal,
          // The peer is known by its SPIFFE ID (as Istio does), not by a DNS name.
          checkServerIdentity: (_host: string, cert: PeerCertificate) => {
            const uris = uriSans(cert.subjectaltname);
            return uris.length === 1 && uris[0] === expectSpiffeId ? undefined : new Error(`peer JWKS server is not ${expectSpiffeId}`);
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (c: Buffer) => {
            size += c.length;
            if (size > MAX_JWKS_BYTES) {
              req.destroy(new Error("JWKS too large"));
              return;
            }
            chunks.push(c);
          });
          res.on("end", () => {
            const h = new Headers();
            for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string") h.set(k, v);
            resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 500, headers: h }));
          });
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end();
    });
}

/** A remote JWKS that keeps serving its last good key set when a refetch fails (stale-if-error). */
function remoteKeys(uri: string, config: StsConfig, fetcher?: ReturnType<typeof mtlsFetch>): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(new URL(uri), {
    cacheMaxAge: config.jwksCacheMaxAgeSeconds * 1000,
    cooldownDuration: config.jwksCooldownSeconds * 1000,
    timeoutDuration: config.jwksTimeoutMs,
    ...(fetcher ? { [customFetch]: fetcher } : {}),
  });
  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (e) {
      const lastGood = remote.jwks();
      if (e instanceof errors.JWKSNoMatchingKey || !lastGood) throw e;
      return createLocalJWKSet(lastGood)(header, token);
    }
  };
}

/** Own keys, rebuilt after a rotation. */
function selfKeys(keys: KeyStore): JWTVerifyGetKey {
  let version = -1;
  let local: JWTVerifyGetKey = () => {
    throw new Error("unreachable");
  };
  return (header, token) => {
    if (version !== keys.version) {
      local = createLocalJWKSet(keys.publicJwks() as JSONWebKeySet);
      version = keys.version;
    }
    return local(header, token);
  };
}

function mapJoseError(e: unknown): TokenRejected {
  if (e instanceof TokenRejected) return e;
  if (e instanceof errors.JWTExpired) return new TokenRejected("expired", "token expired");
  if (e instanceof errors.JWTClaimValidationFailed) {
    if (e.claim === "nbf" || e.claim === "iat") return new TokenRejected("not_yet_valid", `token ${e.claim} is in the future`);
    return new TokenRejected("missing_claim", `token claim ${e.claim} is invalid: ${e.reason}`);
  }
  if (e instanceof errors.JWSSignatureVerificationFailed) return new TokenRejected("bad_signature", "signature verification failed");
  if (e instanceof errors.JWKSNoMatchingKey) return new TokenRejected("bad_signature", "no key of the issuer matches the token");
  if (e instanceof errors.JOSEAlgNotAllowed) return new TokenRejected("bad_signature", "algorithm not allowed");
  if (e instanceof errors.JWTInvalid || e instanceof errors.JWSInvalid) return new TokenRejected("malformed", "token is malformed");
  if (e instanceof errors.JWKSTimeout) return new TokenRejected("jwks_unavailable", "issuer keys unavailable (timeout)");
  if (e instanceof errors.JOSENotSupported) return new TokenRejected("bad_signature", "key or algorithm not supported");
  return new TokenRejected("jwks_unavailable", "issuer keys unavailable");
}

export class TrustedIssuers {
  private readonly issuers = new Map<string, Issuer>();
  readonly ownIssuer: string;
  readonly ownAudience: string;

  constructor(private readonly config: StsConfig, keys: KeyStore) {
    this.ownIssuer = stsIssuer(config.cell, config.namespace);
    this.ownAudience = cellAudience(config.cell, config.namespace);
    const g = config.globalJWKS;
    if (g) {
      const getKey = g.uri ? remoteKeys(g.uri, config) : createLocalJWKSet(g.jwks as JSONWebKeySet);
      this.issuers.set(g.issuer, { getKey, global: true });
    }
    // Peer STSs are fetched over mutual TLS with our own SVID when the URI is https and we have one.
    let own: { cert: string; key: string; ca: string } | undefined;
    if (config.tls) {
      own = { cert: readFileSync(config.tls.certFile, "utf8"), key: readFileSync(config.tls.keyFile, "utf8"), ca: readFileSync(config.tls.caFile, "utf8") };
    }
    for (const peer of config.trustedPeers) {
      const iss = stsIssuer(peer.cell, peer.namespace);
      if (iss === this.ownIssuer) continue; // our own keys are authoritative for our issuer
      const fetcher =
        own && peer.jwksUri.startsWith("https:")
          ? mtlsFetch(own, `spiffe://${config.trustDomain}/ns/${peer.namespace}/sa/${peer.cell}--sts-service`)
          : undefined;
      const cell = { name: peer.cell, namespace: peer.namespace };
      this.issuers.set(iss, { getKey: remoteKeys(peer.jwksUri, config, fetcher), global: false, cell });
    }
    // Set last, so nothing configured can shadow our own issuer.
    this.issuers.set(this.ownIssuer, { getKey: selfKeys(keys), global: false, cell: { name: config.cell, namespace: config.namespace } });
  }

  /** Verifies a compact JWT; throws TokenRejected. Audience: ours, or any for a global token. */
  async verify(token: string): Promise<Verified> {
    let unverified: JWTPayload;
    try {
      decodeProtectedHeader(token);
      unverified = decodeJwt(token);
    } catch {
      throw new TokenRejected("malformed", "token is malformed");
    }
    const iss = typeof unverified.iss === "string" ? unverified.iss : "";
    let candidates: [string, Issuer][];
    const known = this.issuers.get(iss);
    if (known) candidates = [[iss, known]];
    else if (this.config.enableIssuerValidation) throw new TokenRejected("untrusted_issuer", "token issuer is not trusted");
    else candidates = [...this.issuers.entries()];

    const verified = this.config.enableSignatureValidation
      ? await this.verifySignature(token, candidates)
      : this.checkTimesOnly(unverified, candidates[0]);
    this.checkAudience(verified);
    this.checkCell(verified);
    return verified;
  }

  private async verifySignature(token: string, candidates: [string, Issuer][]): Promise<Verified> {
    let last: TokenRejected = new TokenRejected("untrusted_issuer", "token issuer is not trusted");
    for (const [iss, issuer] of candidates) {
      try {
        const { payload } = await jwtVerify(token, issuer.getKey, {
          algorithms: ALGORITHMS,
          clockTolerance: this.config.clockSkewSeconds,
          requiredClaims: ["exp"],
        });
        return { payload, issuer: iss, global: issuer.global, cell: issuer.cell };
      } catch (e) {
        last = mapJoseError(e);
        // A time failure does not depend on which issuer's key we tried.
        if (last.reason === "expired" || last.reason === "not_yet_valid" || last.reason === "malformed") throw last;
      }
    }
    throw last;
  }

  // Only reached when enableSignatureValidation is explicitly false.
  private checkTimesOnly(payload: JWTPayload, candidate: [string, Issuer]): Verified {
    const now = Math.floor(Date.now() / 1000);
    const skew = this.config.clockSkewSeconds;
    if (typeof payload.exp !== "number") throw new TokenRejected("missing_claim", "token has no exp");
    if (payload.exp + skew <= now) throw new TokenRejected("expired", "token expired");
    if (typeof payload.nbf === "number" && payload.nbf - skew > now) throw new TokenRejected("not_yet_valid", "token nbf is in the future");
    const iss = typeof payload.iss === "string" ? payload.iss : candidate[0];
    const known = this.issuers.get(iss);
    return { payload, issuer: iss, global: known?.global ?? false, cell: known?.cell };
  }

  private checkAudience(v: Verified): void {
    if (!this.config.enableAudienceValidation) return;
    const aud = v.payload.aud;
    const list = Array.isArray(aud) ? aud : typeof aud === "string" ? [aud] : [];
    if (v.global) {
      // An edge token is for this application only when the IdP minted it for one of our audiences.
      const wanted = this.config.globalJWKS?.audiences ?? [];
      if (!list.some((a) => wanted.includes(a))) throw new TokenRejected("wrong_audience", "edge token audience is not one of globalJWKS.audiences");
      return;
    }
    if (!list.includes(this.ownAudience)) throw new TokenRejected("wrong_audience", `token audience does not include ${this.ownAudience}`);
  }

  /** A cell token's `cell.name`, when present, must be the cell of the STS that signed it. */
  private checkCell(v: Verified): void {
    if (v.global || !v.cell || v.payload.cell === undefined) return;
    const claim = v.payload.cell as { name?: unknown } | null;
    const name = claim && typeof claim === "object" && !Array.isArray(claim) ? claim.name : undefined;
    if (name !== v.cell.name) throw new TokenRejected("cell_mismatch", `token cell claim does not match its issuer's cell ${v.cell.name}`);
  }
}
