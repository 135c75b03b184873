// The attack review of the two-cell topology (issue 9), replayed against real Envoy, STS and OPA:
// a caller must not be able to choose who it is. Each test failed on the code before the identity
// work: any workload name on request, any source cell under a trusted key, edge tokens for any
// audience, and cell tokens leaking to any host that contains "--".
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { SignJWT, importJWK } from "jose";
import { start, EDGE_AUDIENCE, OTHER_APP_AUDIENCE, type Topology } from "../../demo/topology.ts";
import { waitUntilServing, cellTokenFor, callCategoriesAs } from "../../demo/scenario.ts";
import { mtlsFetch } from "../lib/mtls-client.ts";
import type { Svid } from "../lib/spiffe-ca.ts";

let top: Topology;
const GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt";
const FORM = { "content-type": "application/x-www-form-urlencoded" };
const claimsOf = (t: string) => JSON.parse(Buffer.from(t.split(".")[1], "base64url").toString("utf8"));

before(async () => {
  top = await start({ authzCacheTtlSeconds: 0 });
  await waitUntilServing(top);
});

after(async () => {
  await top?.stop();
});

/** GET through reviews-service's outbound listener with a chosen Host (fetch() cannot set Host). */
function viaOutbound(host: string, requestId: string): Promise<{ status: number; body: any }> {
  const port = top.envoys.reviewsSidecar.port("reviews-outbound");
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/categories", headers: { host, "x-request-id": requestId }, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let body: any;
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end();
  });
}

async function exchange(cell: "reviews" | "customer-products", as: Svid, params: Record<string, string>) {
  const res = await top.cells[cell].sts.fetchAs(as, "/token", { method: "POST", headers: FORM, body: new URLSearchParams({ grant_type: GRANT, ...params }).toString() });
  const text = await res.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, body };
}

test("attack 1: a workload cannot choose its name at the STS (source_workload); the token names its mTLS identity", async () => {
  const { reviewsService } = top.svids;
  const subject = { subject_token: await top.userToken("alice"), subject_token_type: JWT_TYPE, audience: "customer-products" };
  for (const claimed of ["payments-admin", "gateway", "reviews--gateway"]) {
    const r = await exchange("reviews", reviewsService, { ...subject, source_workload: claimed });
    assert.equal(r.status, 400, `source_workload=${claimed}`);
    assert.equal(r.body.error, "invalid_request");
  }
  const t = await cellTokenFor(top, reviewsService, "alice");
  const c = claimsOf(t);
  assert.deepEqual(c.cell, { name: "reviews", workload: "reviews-service" });
  assert.deepEqual(c.cnf, { spiffe_id: reviewsService.spiffeId });
  assert.equal(c.act?.sub, reviewsService.spiffeId);
  // Re-exchanging that token at the destination cell's STS with a chosen name: refused too, and a
  // workload of another namespace is not a client of that STS at all.
  const again = await exchange("customer-products", top.svids.categoriesService, { subject_token: t, subject_token_type: JWT_TYPE, audience: "customer-products", source_workload: "anything-i-like" });
  assert.equal(again.status, 400);
  const foreign = await exchange("customer-products", reviewsService, { subject_token: t, subject_token_type: JWT_TYPE, audience: "customer-products" });
  assert.equal(foreign.status, 403);
});

test("attack 2: a cell claim forged under a trusted STS key is refused by the receiving sidecar (401 JwtCellMismatch)", async () => {
  const keys = JSON.parse(readFileSync(join(top.cells.reviews.sts.keysDir, "signing-keys.json"), "utf8")).keys;
  const cur = keys.find((k: { state: string }) => k.state === "current");
  const key = await importJWK(cur.privateJwk, cur.alg);
  const owner = top.svids.reviewsService;
  const forge = (cell: Record<string, unknown>) =>
    new SignJWT({ sub: "alice", cell, cnf: { spiffe_id: owner.spiffeId } })
      .setProtectedHeader({ alg: cur.alg, kid: cur.kid, typ: "JWT" })
      .setIssuer("reviews--sts-service.reviews")
      .setAudience(["customer-products.customer-products"])
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(key);
  await top.applySeedPolicy(); // customer-products only admits NonExistingCell
  const r = await callCategoriesAs(top, owner, await forge({ name: "NonExistingCell", workload: "reviews-service" }), "identity-forged-cell");
  assert.equal(r.status, 401, r.text);
  assert.equal(r.json().status, "JwtCellMismatch");
  // The same token with its true cell passes the filter and meets the policy (which denies reviews).
  const honest = await callCategoriesAs(top, owner, await forge({ name: "reviews", workload: "reviews-service" }), "identity-honest-cell");
  assert.equal(honest.status, 403);
  assert.equal(honest.json().status, "AuthzDenied");
});

test("attack 3: an edge token minted for another audience, or for none, is never exchanged into a cell token", async () => {
  const gw = top.svids.reviewsGateway;
  // Real tokens from the same IdP: one it minted for another application, one with no audience.
  for (const audience of [[OTHER_APP_AUDIENCE], []]) {
    const edge = await top.idp.tokenFor("alice", { audience });
    assert.deepEqual(claimsOf(edge).aud ?? [], audience, "the IdP issued what was asked");
    const r = await exchange("reviews", gw, { subject_token: edge, subject_token_type: JWT_TYPE, audience: "reviews" });
    assert.equal(r.status, 400, `aud ${JSON.stringify(audience)}`);
    assert.equal(r.body.error, "invalid_grant");
  }
  const good = await exchange("reviews", gw, { subject_token: await top.userToken("alice"), subject_token_type: JWT_TYPE, audience: "reviews" });
  assert.equal(good.status, 200, JSON.stringify(good.body));
  assert.deepEqual(claimsOf(good.body.access_token).aud, ["reviews.reviews"]);
  assert.equal(EDGE_AUDIENCE, "https://shop.cellauth.local");
});

test("attack 4: a host that merely contains '--' gets no cell token (the categories sidecar sees none: 401 JwtMissed)", async () => {
  // A user context for the request ids below, as a gateway hop would leave it: the real cell host
  // then gets a token and reaches the categories sidecar's policy; the others must get none.
  for (const host of ["customer-products--categories-service.attacker.example", "my--app.example.com", "xn--bcher-kva.example", "customer-products--categories-service.evil--x"]) {
    const r = await viaOutbound(host, `identity-host-${host}`);
    assert.equal(r.status, 401, host);
    assert.equal(r.body.status, "JwtMissed", `${host}: no cell token was attached`);
  }
  // The real cell host does get one (without a user context the STS refuses to mint: 403).
  const ok = await viaOutbound("customer-products--categories-service", "identity-host-ok");
  assert.equal(ok.status, 403);
  assert.equal(ok.body.status, "TokenExchangeRefused");
});

// Found by the attack review: a workload that stole a cell token could have the STS re-bind it to
// itself by posting it as a subject_token. A cell token is a subject only for the workload it is
// bound to (cnf) or the one it was issued for (may_act, from the caller's RFC 8693 resource).
test("a stolen cell token cannot be laundered at the STS: only its holder (cnf) or its intended workload (may_act) may exchange it", async () => {
  const { reviewsGateway, reviewsService, customersService } = top.svids;
  const edge = await top.userToken("alice");
  const t1 = await exchange("reviews", reviewsGateway, { subject_token: edge, subject_token_type: JWT_TYPE, audience: "reviews", resource: reviewsService.spiffeId });
  assert.equal(t1.status, 200, JSON.stringify(t1.body));
  const c1 = claimsOf(t1.body.access_token);
  assert.deepEqual(c1.cnf, { spiffe_id: reviewsGateway.spiffeId });
  assert.deepEqual(c1.may_act, { sub: reviewsService.spiffeId });
  const onward = { subject_token: t1.body.access_token, subject_token_type: JWT_TYPE, audience: "customer-products" };
  const stolen = await exchange("reviews", customersService, onward);
  assert.equal(stolen.status, 400, JSON.stringify(stolen.body));
  assert.equal(stolen.body.error, "invalid_grant");
  assert.match(stolen.body.error_description, /bound to another workload/);
  const own = await exchange("reviews", reviewsService, onward);
  assert.equal(own.status, 200, JSON.stringify(own.body));
  assert.deepEqual(claimsOf(own.body.access_token).cnf, { spiffe_id: reviewsService.spiffeId });
  // A resource outside the audience cell is refused.
  const wrong = await exchange("reviews", reviewsGateway, { subject_token: edge, subject_token_type: JWT_TYPE, audience: "reviews", resource: top.svids.categoriesService.spiffeId });
  assert.equal(wrong.status, 400);
  assert.equal(wrong.body.error, "invalid_target");
});

test("the gateway asks for tokens for the service its route goes to; each hop's token names the next workload in may_act", async () => {
  const before = top.cells.reviews.sts.logEntries().length;
  const r = await top.userToken("alice").then((t) =>
    fetch(`${top.urls.globalGateway}/reviews/camera`, { headers: { authorization: `Bearer ${t}`, "x-request-id": "identity-may-act" }, signal: AbortSignal.timeout(10_000) }));
  assert.equal(r.status, 200);
  const page = await r.json();
  assert.deepEqual(page.received.may_act, { sub: top.svids.reviewsService.spiffeId }, "the gateway's token is for reviews-service");
  // (The seed policy of attack 2 denies the categories call itself; STS-reviews' log shows what it issued.)
  const issued = top.cells.reviews.sts.logEntries().slice(before).filter((e) => e.msg === "token issued" && e.caller === top.svids.reviewsService.spiffeId);
  assert.equal(issued.at(-1)?.mayAct, top.svids.categoriesService.spiffeId, "the outbound token is for categories-service");
});

test("a forged x-forwarded-client-cert changes nothing: not at a sidecar, not at the STS", async () => {
  const { reviewsService, customersService } = top.svids;
  const t = await cellTokenFor(top, reviewsService, "alice");
  const r = await mtlsFetch(`${top.urls.categoriesSidecar}/categories`, {
    ca: top.ca.caPem,
    client: customersService,
    headers: { host: "customer-products--categories-service", "cellery-authorization": `Bearer ${t}`, "x-forwarded-client-cert": `By=x;URI=${reviewsService.spiffeId}` },
  });
  assert.equal(r.status, 401);
  assert.equal(r.json().status, "JwtNotBoundToPeer");
  const res = await top.cells.reviews.sts.fetchAs(customersService, "/token", {
    method: "POST",
    headers: { ...FORM, "x-forwarded-client-cert": `By=x;URI=${reviewsService.spiffeId}` },
    body: new URLSearchParams({ grant_type: GRANT, subject_token: await top.userToken("alice"), subject_token_type: JWT_TYPE, audience: "customer-products" }).toString(),
  });
  assert.equal(res.status, 200);
  assert.deepEqual(claimsOf((await res.json()).access_token).cnf, { spiffe_id: customersService.spiffeId }, "bound to the real caller");
});
