import { parseJwks, lastJwksError, KeyType } from "../../assembly/jwks/keys";
import { ecdsaRawToDer } from "../../assembly/jwks/der";

// RFC 7515 A.3 (P-256) and A.2 (RSA) public keys, RFC 8037 A.2 (Ed25519).
const EC = "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"e\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\",\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}";
const RSA = "{\"kty\":\"RSA\",\"kid\":\"r\",\"n\":\"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ\",\"e\":\"AQAB\"}";
const ED = "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"d\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}";
const OCT = "{\"kty\":\"oct\",\"kid\":\"h\",\"k\":\"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow\"}";

describe("JWKS parsing", () => {
  it("parses RSA, EC, OKP and oct keys", () => {
    const set = parseJwks("{\"keys\":[" + EC + "," + RSA + "," + ED + "," + OCT + "]}", 16);
    expect<bool>(set !== null).toBe(true);
    const keys = set!.keys;
    expect<i32>(keys.length).toBe(4);
    expect<KeyType>(keys[0].type).toBe(KeyType.EC256);
    expect<KeyType>(keys[1].type).toBe(KeyType.RSA);
    expect<KeyType>(keys[2].type).toBe(KeyType.Ed25519);
    expect<KeyType>(keys[3].type).toBe(KeyType.Oct);
    expect<string>(keys[1].kid!).toBe("r");
    expect<bool>(keys[0].spki !== null && keys[1].spki !== null).toBe(true);
    expect<u8>(keys[0].spki![0]).toBe(0x30);
  });
  it("skips unusable keys but keeps the usable ones", () => {
    const set = parseJwks("{\"keys\":[{\"kty\":\"RSA\",\"use\":\"enc\",\"n\":\"AQAB\",\"e\":\"AQAB\"}," + EC + ",{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"AA\",\"y\":\"AA\"}]}", 16);
    expect<i32>(set!.keys.length).toBe(1);
    expect<i32>(set!.skipped.length).toBe(2);
  });
  it("skips keys whose key_ops exclude verify (Wycheproof rejectWrongKeyOps), with the reason", () => {
    const enc = EC.replace("{", "{\"key_ops\":[\"encrypt\"],");
    const notList = RSA.replace("{", "{\"key_ops\":\"verify\",");
    const ok = ED.replace("{", "{\"key_ops\":[\"sign\",\"verify\"],");
    const set = parseJwks("{\"keys\":[" + enc + "," + notList + "," + ok + "]}", 16);
    expect<i32>(set!.keys.length).toBe(1);
    expect<KeyType>(set!.keys[0].type).toBe(KeyType.Ed25519);
    expect<i32>(set!.skipped.length).toBe(2);
    expect<bool>(set!.skipped[0].includes("key_ops [\"encrypt\"] does not include \"verify\"")).toBe(true, set!.skipped[0]);
    expect<bool>(parseJwks("{\"keys\":[" + enc + "]}", 16) === null).toBe(true);
  });
  it("refuses a JWKS with no usable key, bad JSON, or no keys list", () => {
    expect<bool>(parseJwks("{\"keys\":[]}", 16) === null).toBe(true);
    expect<bool>(lastJwksError().includes("no usable")).toBe(true);
    expect<bool>(parseJwks("{\"keys\":[", 16) === null).toBe(true);
    expect<bool>(parseJwks("{\"key\":[]}", 16) === null).toBe(true);
  });
  it("refuses an EC point that is not on the curve", () => {
    const bad = "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\",\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a1\"}]}";
    expect<bool>(parseJwks(bad, 16) === null).toBe(true);
  });
  it("refuses RSA moduli under 2048 bits and short HMAC secrets", () => {
    expect<bool>(parseJwks("{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}", 16) === null).toBe(true);
    expect<bool>(parseJwks("{\"keys\":[{\"kty\":\"oct\",\"k\":\"AQAB\"}]}", 16) === null).toBe(true);
  });
  it("converts raw r||s to DER with minimal integers", () => {
    const raw = new Uint8Array(64);
    raw[0] = 0x80;          // r needs a leading zero
    raw[63] = 1;            // s is 1 after stripping zeros
    const der = ecdsaRawToDer(raw);
    expect<u8>(der[0]).toBe(0x30);
    expect<u8>(der[2]).toBe(0x02);
    expect<u8>(der[3]).toBe(33);
    expect<u8>(der[4]).toBe(0);
    expect<i32>(der.length).toBe(2 + 2 + 33 + 3);
  });
});
