import { parseJwks, lastJwksError, KeyType } from "../../assembly/jwks/keys";
import { ecdsaRawToDer } from "../../assembly/jwks/der";
import { EcPublicKey, ecdsaVerify, HashAlg } from "../../assembly/crypto/index";
import { base64urlDecodeString } from "../../assembly/util/base64";

// RFC 7515 A.4 P-521 public key and its compact ES512 JWS.
const X = "AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk";
const Y = "ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2";
const P521 = "{\"kty\":\"EC\",\"crv\":\"P-521\",\"kid\":\"p\",\"alg\":\"ES512\",\"x\":\"" + X + "\",\"y\":\"" + Y + "\"}";
const INPUT = "eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA";
const SIG = "AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZqwqT2SI-KGDKB34XO0aw_7Xdt" +
  "AG8GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8KpEHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn";

describe("JWKS P-521 (ES512) keys", () => {
  it("loads a JWKS holding only a P-521 key, with its DER SPKI for the host", () => {
    const set = parseJwks("{\"keys\":[" + P521 + "]}", 16);
    expect<bool>(set !== null).toBe(true);
    const k = set!.keys[0];
    expect<KeyType>(k.type).toBe(KeyType.EC521);
    expect<bool>(k.ec !== null).toBe(true);
    const spki = k.spki!;
    expect<i32>(spki.length).toBe(158);
    expect<u8>(spki[0]).toBe(0x30);
    expect<u8>(spki[2]).toBe(0x9b);
    expect<u8>(spki[20]).toBe(0x23);   // secp521r1 = 1.3.132.0.35
    expect<u8>(spki[25]).toBe(0x04);   // uncompressed point
    const x = base64urlDecodeString(X)!;
    expect<u8>(spki[26]).toBe(x[0]);
    expect<u8>(spki[157]).toBe(base64urlDecodeString(Y)![65]);
  });
  it("verifies RFC 7515 A.4 with the parsed key", () => {
    const k = parseJwks("{\"keys\":[" + P521 + "]}", 16)!.keys[0];
    const sig = base64urlDecodeString(SIG)!;
    expect<i32>(sig.length).toBe(132);
    const input = Uint8Array.wrap(String.UTF8.encode(INPUT));
    expect<bool>(ecdsaVerify(k.ec!, HashAlg.SHA512, input, sig)).toBe(true);
    sig[10] ^= 1;
    expect<bool>(ecdsaVerify(k.ec!, HashAlg.SHA512, input, sig)).toBe(false);
  });
  it("converts a 132-byte r||s to DER with a long-form length", () => {
    const der = ecdsaRawToDer(base64urlDecodeString(SIG)!);
    expect<u8>(der[0]).toBe(0x30);
    expect<u8>(der[1]).toBe(0x81);
    expect<i32>(der.length).toBe(3 + <i32>der[2]);
  });
  it("refuses short coordinates and points off the curve", () => {
    const short = "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"" + X.substring(2) + "\",\"y\":\"" + Y + "\"}]}";
    expect<bool>(parseJwks(short, 16) === null).toBe(true);
    expect<bool>(lastJwksError().includes("curve's size")).toBe(true);
    const off = "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"" + X + "\",\"y\":\"" + Y.substring(0, Y.length - 1) + "3\"}]}";
    expect<bool>(parseJwks(off, 16) === null).toBe(true);
    expect<bool>(lastJwksError().includes("not on the curve")).toBe(true);
  });
  it("EcPublicKey.create takes 521", () => {
    expect<bool>(EcPublicKey.create(521, base64urlDecodeString(X)!, base64urlDecodeString(Y)!) !== null).toBe(true);
    expect<bool>(EcPublicKey.create(512, base64urlDecodeString(X)!, base64urlDecodeString(Y)!) === null).toBe(true);
  });
});
