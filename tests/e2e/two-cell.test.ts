// The two-cell flow in real Envoy, driven by the demo's own code (demo/topology.ts and
// demo/scenario.ts): real OPA and STS per cell, four Envoys with the cellauth filter in gateway,
// inbound and outbound modes, two Node services, mutual TLS with SPIFFE IDs on every hop between
// them. Asserts the demo's four outcomes and the identities (user, calling workload, cell) each hop saw.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { start, EDGE_AUDIENCE, type Topology } from "../../demo/topology.ts";
import { gatewayStep, bogusClientStep, stolenTokenStep, requestReviews, waitUntilServing, type StepResult } from "../../demo/scenario.ts";
import { CATEGORIES_UNAVAILABLE, CATEGORIES_HOST } from "../../demo/services.ts";
import { mtlsFetch } from "../lib/mtls-client.ts";

let top: Topology;
let pids: number[] = [];
let dirs: string[] = [];

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

before(async () => {
  top = await start();
  const { reviews, "customer-products": cp } = top.cells;
  pids = [reviews.sts.child.pid!, reviews.opa.child.pid!, cp.sts.child.pid!, cp.opa.child.pid!, ...Object.values(top.envoys).map((e) => e.pid)];
  dirs = [reviews.opa.policyDir, cp.opa.policyDir, reviews.sts.configPath, cp.sts.configPath];
  await waitUntilServing(top);
});

after(async () => {
  await top?.stop();
});

const hop = (s: StepResult, name: string) => {
  const h = s.hops.find((x) => x.hop === name);
  assert.ok(h, `no hop ${name} in ${JSON.stringify(s.hops)}`);
  return h;
};

test("1. every hop allowed: the page carries the categories, each hop saw the right token", async () => {
  const s = await gatewayStep(top, "step 1", "alice", "e2e-step-1");
  assert.equal(s.status, 200);
  const page = s.page!;
  assert.deepEqual(page.categories, ["books", "music", "travel"]);
  assert.match(page.page, /Categories: books, music, travel/);
  // reviews-service got a reviews cell token (exchanged by the reviews gateway), not the edge token.
  assert.equal(page.received.iss, "reviews--sts-service.reviews");
  assert.deepEqual(page.received.aud, ["reviews.reviews"]);
  assert.equal(page.received.sub, "alice");
  assert.equal(page.received.subject, "alice");
  assert.deepEqual(page.received.cell, { name: "reviews", workload: "reviews--gateway" });
  // The calling workload is the verified mTLS peer, and the token is bound to exactly it.
  const gw = top.svids.reviewsGateway.spiffeId;
  assert.equal(page.received.peer, gw);
  assert.deepEqual(page.received.cnf, { spiffe_id: gw });
  // categories-service got a token for its cell, carrying alice, minted for reviews-service.
  const c = page.categoriesCall;
  assert.equal(c.status, 200);
  assert.equal(c.received?.iss, "reviews--sts-service.reviews");
  assert.deepEqual(c.received?.aud, ["customer-products.customer-products"]);
  assert.equal(c.received?.sub, "alice");
  assert.deepEqual(c.received?.cell, { name: "reviews", workload: "reviews-service" });
  const rs = top.svids.reviewsService.spiffeId;
  assert.equal(c.received?.peer, rs);
  assert.deepEqual(c.received?.cnf, { spiffe_id: rs });
  assert.equal((c.received?.act as { sub?: string } | undefined)?.sub, rs, "act names the workload that acted");
  assert.equal(hop(s, "global gw -> reviews gateway").peer, top.svids.globalGateway.spiffeId);
  assert.equal(hop(s, "reviews gw -> reviews-service").peer, gw);
  assert.equal(hop(s, "reviews-service -> categories-service").peer, rs);
  assert.equal(hop(s, "reviews gw -> reviews-service").decision, "STS-reviews: ALLOWED");
  assert.equal(hop(s, "reviews-service -> categories-service").decision, "STS-customer-products: ALLOWED");
  assert.equal(hop(s, "client -> global gateway").audience, EDGE_AUDIENCE);
});

test("a spoofed identity header from the client never reaches a service", async () => {
  const token = await top.userToken("bob");
  const res = await fetch(`${top.urls.globalGateway}/reviews/camera`, {
    headers: { authorization: `Bearer ${token}`, "x-request-id": "e2e-spoof", "x-cellery-auth-subject": "admin", "x-cellauth-jwt-payload": Buffer.from('{"sub":"admin"}').toString("base64url") },
  });
  assert.equal(res.status, 200);
  const page = await res.json();
  assert.equal(page.received.subject, "bob");
  assert.equal(page.received.sub, "bob");
  assert.equal(page.categoriesCall.received.sub, "bob");
});

test("the global gateway refuses a missing, expired or foreign edge token with 401", async () => {
  const noToken = await fetch(`${top.urls.globalGateway}/reviews/camera`);
  assert.equal(noToken.status, 401);
  assert.equal((await noToken.json()).status, "JwtMissed");
  const expired = await requestReviews(top, await top.userToken("alice", -120), "e2e-expired");
  assert.equal(expired.status, 401);
  assert.equal(expired.body.status, "JwtExpired");
  const foreign = await top.issuer.mint({ sub: "mallory", aud: EDGE_AUDIENCE }, { issuer: "https://evil.example" });
  const r = await requestReviews(top, foreign, "e2e-foreign");
  assert.equal(r.status, 401);
  assert.equal(r.body.status, "JwtUnknownIssuer");
});

test("2. with the seed policy, customer-products denies the call and the page degrades", async () => {
  await top.applySeedPolicy();
  const s = await gatewayStep(top, "step 2", "alice", "e2e-step-2");
  assert.equal(s.status, 200);
  const page = s.page!;
  assert.equal(page.categories, CATEGORIES_UNAVAILABLE);
  assert.match(page.page, /Categories: category service is currently unavailable/);
  assert.equal(page.categoriesCall.status, 403);
  assert.equal(page.categoriesCall.reason, "AuthzDenied");
  assert.equal(page.categoriesCall.received, undefined, "categories-service must not have been reached");
  assert.equal(hop(s, "reviews-service -> categories-service").decision, "STS-customer-products: DENIED_BY_POLICY");
  // reviews' own hop is untouched by customer-products' policy.
  assert.equal(hop(s, "reviews gw -> reviews-service").decision, "STS-reviews: ALLOWED");
});

test("3. a bogus client: no certificate cannot connect; a mesh workload without a token gets 401", async () => {
  const s = await bogusClientStep(top, "step 3");
  assert.match(s.hops[0].status, /^refused/);
  assert.equal(s.status, 401);
  assert.equal(s.refusal?.status, "JwtMissed");
  assert.match(s.refusal?.wwwAuthenticate ?? "", /^Bearer realm="reviews"$/);
  // Nor does the categories sidecar take a request without a cell token.
  const direct = await mtlsFetch(`${top.urls.categoriesSidecar}/categories`, { ca: top.ca.caPem, client: top.svids.reviewsService, headers: { host: CATEGORIES_HOST } });
  assert.equal(direct.status, 401);
});

test("4. a cell token stolen from reviews-service and replayed by another workload is refused: 401 JwtNotBoundToPeer", async () => {
  const s = await stolenTokenStep(top, "step 4");
  assert.equal(s.status, 401);
  assert.equal(s.refusal?.status, "JwtNotBoundToPeer");
  assert.match(s.refusal?.wwwAuthenticate ?? "", /error="invalid_token"/);
  // The same token from the workload it was issued to passes the binding (the seed policy then decides).
  const own = s.hops[2];
  assert.equal(own.peer, top.svids.reviewsService.spiffeId);
  assert.match(own.status, /^(200|403 AuthzDenied)$/);
});

test("stop() ends every process and removes every temp dir", async () => {
  await top.stop();
  for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} still running`);
  for (const d of dirs) assert.equal(existsSync(d), false, `${d} left behind`);
});
