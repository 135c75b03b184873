// The JWS examples published in the RFCs, verified by the AssemblyScript crypto (build/crypto.wasm).
// Keys and tokens are the RFCs' own literals; each is named with its section.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CryptoWasm, Hash, b64u } from './wasm.ts';

const w = CryptoWasm.load();
const enc = new TextEncoder();

/** Splits a compact JWS into (signing input bytes, signature bytes). */
function parts(jws: string): [Uint8Array, Uint8Array] {
  const i = jws.lastIndexOf('.');
  return [enc.encode(jws.slice(0, i)), b64u(jws.slice(i + 1))];
}

/** The same signature over a signing input with its last character changed must fail. */
function tampered(input: Uint8Array): Uint8Array {
  const t = input.slice();
  t[t.length - 1] ^= 0x01;
  return t;
}

// RFC 7515 Appendix A.1 (HS256): JWK k and the compact JWS of A.1.1.
const A1_K = 'AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow';
const A1_JWS = 'eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9' +
  '.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ' +
  '.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';

// RFC 7515 Appendix A.2 (RS256): RSA public key (n, e) and the compact JWS of A.2.1.
const A2_N = 'ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddx' +
  'HmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMs' +
  'D1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSH' +
  'SXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdV' +
  'MTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8' +
  'NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ';
const A2_E = 'AQAB';
const A2_JWS = 'eyJhbGciOiJSUzI1NiJ9' +
  '.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ' +
  '.cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw';

// RFC 7515 Appendix A.3 (ES256): EC P-256 public key (x, y) and the compact JWS of A.3.1.
const A3_X = 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU';
const A3_Y = 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0';
const A3_JWS = 'eyJhbGciOiJFUzI1NiJ9' +
  '.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ' +
  '.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q';

// RFC 7515 Appendix A.4 (ES512): EC P-521 public key (x, y) and the compact JWS of A.4.1 (payload "Payload").
const A4_X = 'AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk';
const A4_Y = 'ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2';
const A4_JWS = 'eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA' +
  '.AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZqwqT2SI-KGDKB34XO0aw_7Xdt' +
  'AG8GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8KpEHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn';

// RFC 7520 §3.3 RSA public key (bilbo.baggins@hobbiton.example), §3.5 HMAC key, §4 payload.
const C3_3_N = 'n4EPtAOCc9AlkeQHPzHStgAbgs7bTZLwUBZdR8_KuKPEHLd4rHVTeT' +
  '-O-XV2jRojdNhxJWTDvNd7nqQ0VEiZQHz_AJmSCpMaJMRBSFKrKb2wqV' +
  'wGU_NsYOYL-QtiWN2lbzcEe6XC0dApr5ydQLrHqkHHig3RBordaZ6Aj-' +
  'oBHqFEHYpPe7Tpe-OfVfHd1E6cS6M1FZcD1NNLYD5lFHpPI9bTwJlsde' +
  '3uhGqC0ZCuEHg8lhzwOHrtIQbS0FVbb9k3-tVTU4fg_3L_vniUFAKwuC' +
  'LqKnS2BYwdq_mzSnbLY7h_qixoR7jig3__kRhuaxwUkRz5iaiQkqgc5g' +
  'HdrNP5zw';
const C3_3_E = 'AQAB';
const C3_5_K = 'hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg';
const C4_PAYLOAD = 'SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IH' +
  'lvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBk' +
  'b24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcm' +
  'UgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4';

// RFC 7520 §4.1.3 (RS256) compact serialization.
const C4_1_JWS = 'eyJhbGciOiJSUzI1NiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9.' + C4_PAYLOAD + '.' +
  'MRjdkly7_-oTPTS3AXP41iQIGKa80A0ZmTuV5MEaHoxnW2e5CZ5NlKtainoFmK' +
  'ZopdHM1O2U4mwzJdQx996ivp83xuglII7PNDi84wnB-BDkoBwA78185hX-Es4J' +
  'IwmDLJK3lfWRa-XtL0RnltuYv746iYTh_qHRD68BNt1uSNCrUCTJDt5aAE6x8w' +
  'W1Kt9eRo4QPocSadnHXFxnt8Is9UzpERV0ePPQdLuW3IS_de3xyIrDaLGdjluP' +
  'xUAhb6L2aXic1U12podGU0KLUQSE_oI-ZnmKJ3F4uOZDnd6QZWJushZ41Axf_f' +
  'cIe8u9ipH84ogoree7vjbU5y18kDquDg';

// RFC 7520 §4.2.3 (PS384) compact serialization (PSS is randomised: verify only).
const C4_2_JWS = 'eyJhbGciOiJQUzM4NCIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9.' + C4_PAYLOAD + '.' +
  'cu22eBqkYDKgIlTpzDXGvaFfz6WGoz7fUDcfT0kkOy42miAh2qyBzk1xEsnk2I' +
  'pN6-tPid6VrklHkqsGqDqHCdP6O8TTB5dDDItllVo6_1OLPpcbUrhiUSMxbbXU' +
  'vdvWXzg-UD8biiReQFlfz28zGWVsdiNAUf8ZnyPEgVFn442ZdNqiVJRmBqrYRX' +
  'e8P_ijQ7p8Vdz0TTrxUeT3lm8d9shnr2lfJT8ImUjvAA2Xez2Mlp8cBE5awDzT' +
  '0qI0n6uiP1aCN_2_jLAeQTlqRHtfa64QQSUmFAAjVKPbByi7xho0uTOcbH510a' +
  '6GYmJUAfmWjwZ6oD4ifKo8DYM-X72Eaw';

// RFC 7520 §4.4.3 (HS256) compact serialization.
const C4_4_JWS = 'eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LW' +
  'VlZjMxNGJjNzAzNyJ9.' + C4_PAYLOAD + '.s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0';

// RFC 8037 Appendix A.2 (Ed25519 public key x) and A.4/A.5 (the EdDSA JWS and its verification).
const R8037_X = '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo';
const R8037_JWS = 'eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc' +
  '.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg';

test('RFC 7515 A.1 HS256', () => {
  const [input, tag] = parts(A1_JWS);
  assert.equal(w.hmacVerify(Hash.SHA256, b64u(A1_K), input, tag), true);
  assert.deepEqual(Buffer.from(w.hmacSign(Hash.SHA256, b64u(A1_K), input)), Buffer.from(tag));
  assert.equal(w.hmacVerify(Hash.SHA256, b64u(A1_K), tampered(input), tag), false);
});

test('RFC 7515 A.2 RS256', () => {
  const h = w.rsaKey(b64u(A2_N), b64u(A2_E));
  assert.ok(h >= 0);
  assert.equal(w.x.rsaKeyBits(h), 2048);
  const [input, sig] = parts(A2_JWS);
  assert.equal(w.rsaPkcs1Verify(h, Hash.SHA256, input, sig), true);
  assert.equal(w.rsaPkcs1Verify(h, Hash.SHA256, tampered(input), sig), false);
  assert.equal(w.rsaPkcs1Verify(h, Hash.SHA384, input, sig), false, 'wrong hash must fail');
  w.x.rsaKeyFree(h);
});

test('RFC 7515 A.3 ES256', () => {
  const h = w.ecKey(256, b64u(A3_X), b64u(A3_Y));
  assert.ok(h >= 0);
  const [input, sig] = parts(A3_JWS);
  assert.equal(w.ecdsaVerify(h, Hash.SHA256, input, sig), true);
  assert.equal(w.ecdsaVerify(h, Hash.SHA256, tampered(input), sig), false);
  w.x.ecKeyFree(h);
});

test('RFC 7515 A.4 ES512', () => {
  const h = w.ecKey(521, b64u(A4_X), b64u(A4_Y));
  assert.ok(h >= 0);
  const [input, sig] = parts(A4_JWS);
  assert.equal(sig.length, 132);
  assert.equal(w.ecdsaVerify(h, Hash.SHA512, input, sig), true);
  assert.equal(w.ecdsaVerify(h, Hash.SHA512, tampered(input), sig), false);
  assert.equal(w.ecdsaVerify(h, Hash.SHA384, input, sig), false, 'wrong hash must fail');
  w.x.ecKeyFree(h);
});

test('RFC 7520 §4.1 RS256', () => {
  const h = w.rsaKey(b64u(C3_3_N), b64u(C3_3_E));
  assert.ok(h >= 0);
  const [input, sig] = parts(C4_1_JWS);
  assert.equal(w.rsaPkcs1Verify(h, Hash.SHA256, input, sig), true);
  assert.equal(w.rsaPkcs1Verify(h, Hash.SHA256, tampered(input), sig), false);
  w.x.rsaKeyFree(h);
});

test('RFC 7520 §4.2 PS384', () => {
  const h = w.rsaKey(b64u(C3_3_N), b64u(C3_3_E));
  assert.ok(h >= 0);
  const [input, sig] = parts(C4_2_JWS);
  assert.equal(w.rsaPssVerify(h, Hash.SHA384, input, sig, 48), true);
  assert.equal(w.rsaPssVerify(h, Hash.SHA384, tampered(input), sig, 48), false);
  assert.equal(w.rsaPkcs1Verify(h, Hash.SHA384, input, sig), false, 'PSS signature is not PKCS#1 v1.5');
  w.x.rsaKeyFree(h);
});

test('RFC 7520 §4.4 HS256', () => {
  const [input, tag] = parts(C4_4_JWS);
  assert.equal(w.hmacVerify(Hash.SHA256, b64u(C3_5_K), input, tag), true);
  assert.equal(w.hmacVerify(Hash.SHA256, b64u(C3_5_K), tampered(input), tag), false);
  assert.equal(w.hmacVerify(Hash.SHA256, b64u(C3_5_K), input, tag.subarray(0, 16)), false, 'truncated tag');
});

test('RFC 8037 A.4/A.5 EdDSA (Ed25519)', () => {
  const h = w.edKey(b64u(R8037_X));
  assert.ok(h >= 0);
  const [input, sig] = parts(R8037_JWS);
  assert.equal(w.ed25519Verify(h, input, sig), true);
  assert.equal(w.ed25519Verify(h, tampered(input), sig), false);
  w.x.edKeyFree(h);
});
