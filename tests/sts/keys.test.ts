// Signing keys: created on first start, persisted, RFC 7638 kids, three-state rotation.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, statSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { calculateJwkThumbprint } from "jose";
import { KeyStore } from "../../sts/keys.ts";
import { setLogSink } from "../../sts/log.ts";

const root = mkdtempSync(join(tmpdir(), "cellauth-keys-test-"));
after(() => rmSync(root, { recursive: true, force: true }));
const logs: string[] = [];
setLogSink((l) => logs.push(l));

const PRIVATE = ["d", "p", "q", "dp", "dq", "qi", "k"];

test("first start creates a current and a next ES256 key, persisted with mode 0600", async () => {
  const dir = join(root, "es");
  const store = await KeyStore.open(dir, "ES256");
  const jwks = store.publicJwks();
  assert.equal(jwks.keys.length, 2);
  for (const k of jwks.keys) {
    assert.equal(k.kty, "EC");
    assert.equal(k.crv, "P-256");
    assert.equal(k.alg, "ES256");
    assert.equal(k.use, "sig");
    for (const m of PRIVATE) assert.equal((k as Record<string, unknown>)[m], undefined, `public JWK leaks ${m}`);
    assert.equal(k.kid, await calculateJwkThumbprint({ kty: k.kty, crv: k.crv, x: k.x, y: k.y }, "sha256"));
  }
  assert.equal(store.signingKey().kid, jwks.keys[0].kid, "the current key is listed first and signs");
  assert.equal(statSync(join(dir, "signing-keys.json")).mode & 0o777, 0o600);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  const reopened = await KeyStore.open(dir, "ES256");
  assert.deepEqual(reopened.publicJwks(), jwks, "a restart keeps the same keys");
});

test("rotation publishes previous, current and next; the old next signs; state survives a restart", async () => {
  const dir = join(root, "rot");
  const store = await KeyStore.open(dir, "ES256");
  const [current0, next0] = store.publicJwks().keys.map((k) => k.kid);
  const kid1 = await store.rotate();
  assert.equal(kid1, next0, "the pre-published next key becomes current");
  assert.equal(store.signingKey().kid, next0);
  const after1 = store.publicJwks().keys.map((k) => k.kid);
  assert.equal(after1.length, 3);
  assert.ok(after1.includes(current0), "previous key still published");
  await store.rotate();
  const after2 = store.publicJwks().keys.map((k) => k.kid);
  assert.equal(after2.length, 3);
  assert.ok(!after2.includes(current0), "the key two rotations old is dropped");
  assert.ok(after2.includes(next0), "the last current is now previous");
  const reopened = await KeyStore.open(dir, "ES256");
  assert.deepEqual(reopened.publicJwks(), store.publicJwks());
  assert.equal(reopened.signingKey().kid, store.signingKey().kid);
});

test("RS256 is available as an option, with RSA thumbprint kids", async () => {
  const store = await KeyStore.open(join(root, "rs"), "RS256");
  const [k] = store.publicJwks().keys;
  assert.equal(k.kty, "RSA");
  assert.equal(k.alg, "RS256");
  assert.equal(k.kid, await calculateJwkThumbprint({ kty: "RSA", n: k.n, e: k.e }, "sha256"));
  assert.equal(store.signingKey().alg, "RS256");
});

test("a key dir of another algorithm is refused rather than silently replaced", async () => {
  await KeyStore.open(join(root, "mix"), "ES256");
  await assert.rejects(KeyStore.open(join(root, "mix"), "RS256"), /ES256 keys but signingAlg is RS256/);
});

test("a signing-keys file readable by group or others is refused; an open key dir is narrowed to 0700 with a warning", async () => {
  const dir = join(root, "perm");
  await KeyStore.open(dir, "ES256");
  const file = join(dir, "signing-keys.json");
  for (const mode of [0o644, 0o640, 0o604, 0o660]) {
    chmodSync(file, mode);
    await assert.rejects(KeyStore.open(dir, "ES256"), /readable by group or others/, mode.toString(8));
  }
  chmodSync(file, 0o600);
  chmodSync(dir, 0o755);
  const before = logs.length;
  await KeyStore.open(dir, "ES256");
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  const warned = logs.slice(before).map((l) => JSON.parse(l)).find((e) => e.level === "warn");
  assert.match(warned?.msg ?? "", /key directory was open to group or others/);
});

test("logs never contain private key material", async () => {
  const store = JSON.parse(readFileSync(join(root, "rot", "signing-keys.json"), "utf8")) as { keys: { privateJwk: { d: string } }[] };
  const all = logs.join("\n");
  assert.ok(logs.length > 0);
  for (const k of store.keys) assert.ok(!all.includes(k.privateJwk.d));
});
