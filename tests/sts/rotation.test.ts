// Key rotation across processes: a peer STS accepts tokens signed with the rotated key
// without a restart. The first rotation needs no JWKS refetch at all, because the new key
// was already published as "next"; a later one is found by the unknown-kid refetch.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { decodeProtectedHeader } from "jose";
import { startSts, type Caller, type StsProcess } from "../lib/sts-process.ts";
import { createGlobalIssuer, type GlobalIssuer } from "../lib/global-issuer.ts";

const ADMIN = "spiffe://cluster.local/ns/ops/sa/key-rotator";
const GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt";

let idp: GlobalIssuer;
let reviews: StsProcess;
let cp: StsProcess;

before(async () => {
  idp = await createGlobalIssuer();
  const globalJWKS = { issuer: idp.issuer, jwks: idp.jwks, audiences: ["https://shop.cellauth.local"] };
  cp = await startSts({ cell: "customer-products", config: { globalJWKS, enableAuthorization: false, insecureAcknowledgements: ["enableAuthorization"], jwksCooldownSeconds: 0 } });
  reviews = await startSts({
    cell: "reviews",
    config: { globalJWKS, enableAuthorization: false, insecureAcknowledgements: ["enableAuthorization"], enableAdminEndpoints: true, adminPrincipals: [ADMIN], trustedPeers: [{ cell: "customer-products", jwksUri: cp.jwksUri }] },
  });
  assert.equal(await cp.applyConfig({ trustedPeers: [{ cell: "reviews", jwksUri: reviews.jwksUri }] }), "applied");
});
after(async () => {
  await reviews?.stop();
  await cp?.stop();
});

async function post(sts: StsProcess, as: Caller, path: string, body: string, contentType = "application/x-www-form-urlencoded") {
  const res = await sts.fetchAs(as, path, { method: "POST", headers: { "content-type": contentType }, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** reviews mints a token for customer-products from a fresh user token. */
async function reviewsToken(): Promise<string> {
  const user = await idp.mint({ sub: "alice", aud: "https://shop.cellauth.local" });
  // For categories-service (RFC 8693 resource -> may_act), which exchanges it onward below.
  const form = new URLSearchParams({
    grant_type: GRANT, subject_token: user, subject_token_type: JWT_TYPE, audience: "customer-products",
    resource: "spiffe://cluster.local/ns/default/sa/categories-service",
  });
  const r = await post(reviews, "reviews-service", "/token", form.toString());
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.access_token as string;
}

/** customer-products verifies reviews' token by exchanging it (a real peer verification). */
async function peerAccepts(token: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const form = new URLSearchParams({ grant_type: GRANT, subject_token: token, subject_token_type: JWT_TYPE, audience: "customer-products" });
  return post(cp, "categories-service", "/token", form.toString());
}

async function jwksServed(sts: StsProcess): Promise<number> {
  const text = await (await sts.fetchAs("prometheus", "/metrics")).text();
  return Number(/sts_jwks_requests_total (\d+)/.exec(text)?.[1] ?? 0);
}

async function rotate(sts: StsProcess): Promise<string> {
  const r = await post(sts, { namespace: "ops", sa: "key-rotator" }, "/admin/rotate", "", "application/json");
  assert.equal(r.status, 200);
  return r.body.kid as string;
}

test("a peer accepts tokens signed with the new key after rotations, without a restart", async () => {
  const before = await reviewsToken();
  const kid0 = decodeProtectedHeader(before).kid;
  assert.equal((await peerAccepts(before)).status, 200);
  const fetchesBefore = await jwksServed(reviews);
  assert.ok(fetchesBefore >= 1, "customer-products fetched reviews' JWKS");

  const published = ((await (await reviews.fetchAs("peer", "/.well-known/jwks.json")).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
  const kid1 = await rotate(reviews);
  assert.notEqual(kid1, kid0);
  assert.ok(published.includes(kid1), "the new signing key was published before the rotation");
  const after1 = await reviewsToken();
  assert.equal(decodeProtectedHeader(after1).kid, kid1);
  const r1 = await peerAccepts(after1);
  assert.equal(r1.status, 200, JSON.stringify(r1.body));
  // our own JWKS fetch above counts once; the peer did not need to refetch
  assert.equal(await jwksServed(reviews), fetchesBefore + 1, "the peer verified the rotated key from its cache");
  assert.equal((await peerAccepts(before)).status, 200, "tokens signed with the previous key stay valid");

  const kid2 = await rotate(reviews);
  const after2 = await reviewsToken();
  assert.equal(decodeProtectedHeader(after2).kid, kid2);
  assert.ok(!published.includes(kid2), "this key is new to the peer's cache");
  const r2 = await peerAccepts(after2);
  assert.equal(r2.status, 200, JSON.stringify(r2.body));
  assert.ok((await jwksServed(reviews)) > fetchesBefore + 1, "the unknown kid made the peer refetch");
});

test("the admin endpoint is off unless configured", async () => {
  const r = await cp.fetchAs("customer-products-admin", "/admin/rotate", { method: "POST" });
  assert.equal(r.status, 404);
  await r.arrayBuffer();
});

test("/admin/rotate answers only the allowlisted principals (issue 10 item 8)", async () => {
  const kid = (await reviews.fetchAs("peer", "/.well-known/jwks.json").then((r) => r.json()) as { keys: { kid: string }[] }).keys[0].kid;
  for (const as of ["reviews-service", "key-rotator", { namespace: "customer-products", sa: "key-rotator" }] as Caller[]) {
    const r = await reviews.fetchAs(as, "/admin/rotate", { method: "POST" });
    assert.equal(r.status, 403, JSON.stringify(as));
    assert.deepEqual(await r.json(), { error: "unauthorized_client" });
  }
  const other = await reviews.ca.issue("ops", "key-rotator", { trustDomain: "evil.example" });
  assert.equal((await reviews.fetchAs(other, "/admin/rotate", { method: "POST" })).status, 403);
  await assert.rejects(reviews.fetchAs(null, "/admin/rotate", { method: "POST" }));
  const after = (await reviews.fetchAs("peer", "/.well-known/jwks.json").then((r) => r.json()) as { keys: { kid: string }[] }).keys[0].kid;
  assert.equal(after, kid, "no refused call rotated the keys");
});
