// Chooses keys for a token and checks its signature. The algorithm must be allowed by the
// configuration AND by the key's type (and the key's own `alg`, when set): the token's header
// alone never decides. `none` is not an algorithm here.
import { CryptoPath } from "../config/types";
import { KeySet, Jwk, KeyType } from "../jwks/keys";
import { ecdsaRawToDer } from "../jwks/der";
import { hostVerify, HostVerify } from "../host/foreign";
import {
  HashAlg, rsaPkcs1Verify, rsaPssVerify, ecdsaVerify, ed25519Verify, hmacVerify,
} from "../crypto/index";
import { Jwt } from "./parse";
import { Status } from "./status";

export enum Alg { RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA, HS256, HS384, HS512, Unknown }

export function algFromName(name: string): Alg {
  if (name == "RS256") return Alg.RS256;
  if (name == "RS384") return Alg.RS384;
  if (name == "RS512") return Alg.RS512;
  if (name == "PS256") return Alg.PS256;
  if (name == "PS384") return Alg.PS384;
  if (name == "PS512") return Alg.PS512;
  if (name == "ES256") return Alg.ES256;
  if (name == "ES384") return Alg.ES384;
  if (name == "ES512") return Alg.ES512;
  if (name == "EdDSA") return Alg.EdDSA;
  if (name == "HS256") return Alg.HS256;
  if (name == "HS384") return Alg.HS384;
  if (name == "HS512") return Alg.HS512;
  return Alg.Unknown;
}

function keyTypeFor(a: Alg): KeyType {
  if (a <= Alg.PS512) return KeyType.RSA;
  if (a == Alg.ES256) return KeyType.EC256;
  if (a == Alg.ES384) return KeyType.EC384;
  if (a == Alg.ES512) return KeyType.EC521;
  if (a == Alg.EdDSA) return KeyType.Ed25519;
  return KeyType.Oct;
}

function hashFor(a: Alg): HashAlg {
  if (a == Alg.RS384 || a == Alg.PS384 || a == Alg.ES384 || a == Alg.HS384) return HashAlg.SHA384;
  if (a == Alg.RS512 || a == Alg.PS512 || a == Alg.ES512 || a == Alg.HS512) return HashAlg.SHA512;
  return HashAlg.SHA256;
}

const SHA256 = String.UTF8.encode("sha256");
const SHA384 = String.UTF8.encode("sha384");
const SHA512 = String.UTF8.encode("sha512");
function hashName(h: HashAlg): ArrayBuffer { return h == HashAlg.SHA256 ? SHA256 : h == HashAlg.SHA384 ? SHA384 : SHA512; }

function hashLen(h: HashAlg): i32 { return h == HashAlg.SHA256 ? 32 : h == HashAlg.SHA384 ? 48 : 64; }

export class VerifyResult {
  status: Status = Status.Ok;
  usedHost: bool = false;
}

// `allowed` is the rule's algorithm allowlist (empty: anything the key type permits).
export function verifySignature(jwt: Jwt, keys: KeySet, allowed: string[], crypto: CryptoPath, out: VerifyResult): Status {
  out.usedHost = false;
  const alg = algFromName(jwt.alg);
  if (alg == Alg.Unknown) return Status.JwtHeaderNotImplementedAlg;
  if (allowed.length > 0 && !allowed.includes(jwt.alg)) return Status.JwtAlgNotAllowed;
  const want = keyTypeFor(alg);
  const kid = jwt.kid;
  let sawKid = false;
  let sawType = false;
  let last = Status.JwksKidAlgMismatch;
  // Pass 0: the keys the token's kid names (all keys for a token without kid). Pass 1, only for a
  // kid that names no key: the keys without a kid are candidates too (jwt_verify_lib).
  for (let pass = 0; pass < 2; pass++) {
    const anonymous = pass == 1;
    if (anonymous && (kid === null || sawKid)) break;
    for (let i = 0; i < keys.keys.length; i++) {
      const k = keys.keys[i];
      if (kid !== null) {
        const kk = k.kid;
        if (anonymous ? kk !== null : kk === null || kk != kid) continue;
      }
      if (!anonymous) sawKid = true;
      if (k.type != want) continue;
      const kalg = k.alg;
      if (kalg !== null && kalg != jwt.alg) continue;
      sawType = true;
      last = verifyWith(jwt, k, alg, crypto, out);
      if (last == Status.Ok) return Status.Ok;
      if (last == Status.JwtHeaderNotImplementedAlg) return last;
    }
  }
  // A known kid whose key is of another type is key-type confusion, not rotation.
  if (kid !== null && sawKid && !sawType) return Status.JwtAlgNotAllowed;
  // A kid that names no key stays unknown (a refetch may find it) when no kid-less key verified it.
  if (!sawType || (kid !== null && !sawKid)) return Status.JwksKidAlgMismatch;
  return last;
}

function verifyWith(jwt: Jwt, k: Jwk, alg: Alg, crypto: CryptoPath, out: VerifyResult): Status {
  const h = hashFor(alg);
  const sig = jwt.signature;
  const input = jwt.signingInput();
  const isEc = alg == Alg.ES256 || alg == Alg.ES384 || alg == Alg.ES512;
  const hostCapable = alg <= Alg.RS512 || isEc;
  // crypto=host and an algorithm the host cannot verify (PS*, EdDSA): the AssemblyScript verifier
  // below does it (said once at configure), rather than turning valid tokens away.
  if (hostCapable && crypto != CryptoPath.Wasm) {
    const spki = k.spki;
    if (spki !== null) {
      const hostSig = isEc ? (sig.length == (alg == Alg.ES256 ? 64 : alg == Alg.ES384 ? 96 : 132) ? ecdsaRawToDer(sig) : null) : sig;
      if (hostSig === null) return Status.JwtVerificationFail;
      const r = hostVerify(hashName(h), spki, hostSig, input);
      if (r != HostVerify.Unavailable) {
        out.usedHost = true;
        return r == HostVerify.Valid ? Status.Ok : Status.JwtVerificationFail;
      }
      if (crypto == CryptoPath.Host) return Status.JwtHeaderNotImplementedAlg;
    }
  }
  let ok = false;
  if (alg <= Alg.RS512) {
    const key = k.rsa;
    ok = key !== null && rsaPkcs1Verify(key, h, input, sig);
  } else if (alg <= Alg.PS512) {
    const key = k.rsa;
    ok = key !== null && rsaPssVerify(key, h, input, sig, hashLen(h));
  } else if (isEc) {
    const key = k.ec;
    ok = key !== null && ecdsaVerify(key, h, input, sig);
  } else if (alg == Alg.EdDSA) {
    const key = k.ed;
    ok = key !== null && ed25519Verify(key, input, sig);
  } else {
    const secret = k.secret;
    // RFC 7518 §3.2: the key must be at least as long as the hash output.
    ok = secret !== null && secret.length >= hashLen(h) && hmacVerify(h, secret, input, sig);
  }
  return ok ? Status.Ok : Status.JwtVerificationFail;
}
