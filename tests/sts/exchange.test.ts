// RFC 8693 token exchange over real mutual TLS against two real STS processes (reviews and
// customer-products, each in its own namespace, each trusting the other and a local global
// issuer). The requesting workload is the caller's SPIFFE ID, never a request parameter.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createLocalJWKSet, jwtVerify, decodeProtectedHeader, calculateJwkThumbprint, importJWK, SignJWT, UnsecuredJWT, type JWTPayload, type JWK } from "jose";
import { startSts, type Caller, type StsProcess } from "../lib/sts-process.ts";
import { createGlobalIssuer, type GlobalIssuer } from "../lib/global-issuer.ts";

const GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt";
const APP = "https://shop.cellauth.local";
const RS = "spiffe://cluster.local/ns/reviews/sa/reviews-service";
const CATS = "spiffe://cluster.local/ns/customer-products/sa/categories-service";

let idp: GlobalIssuer;
let reviews: StsProcess;
let cp: StsProcess;
const seenTokens: string[] = [];

before(async () => {
  idp = await createGlobalIssuer();
  const globalJWKS = { issuer: idp.issuer, jwks: idp.jwks, audiences: [APP] };
  reviews = await startSts({ cell: "reviews", namespace: "reviews", config: { globalJWKS, enableAuthorization: false, insecureAcknowledgements: ["enableAuthorization"] } });
  cp = await startSts({
    cell: "customer-products",
    namespace: "customer-products",
    config: { globalJWKS, enableAuthorization: false, insecureAcknowledgements: ["enableAuthorization"], trustedPeers: [{ cell: "reviews", namespace: "reviews", jwksUri: reviews.jwksUri }] },
  });
  // Once applied, reviews knows customer-products as an audience.
  assert.equal(
    await reviews.applyConfig({ trustedPeers: [{ cell: "customer-products", namespace: "customer-products", jwksUri: cp.jwksUri }] }),
    "applied",
  );
});
after(async () => {
  await reviews?.stop();
  await cp?.stop();
});

/** An edge token for this application (aud = APP) unless the claims say otherwise. */
function user(claims: JWTPayload, opts?: { expiresIn?: number }): Promise<string> {
  return idp.mint({ aud: APP, ...claims }, opts);
}

async function exchange(sts: StsProcess, fields: Record<string, string>, as: Caller = sts === reviews ? "reviews-service" : "categories-service", contentType = "application/x-www-form-urlencoded") {
  const res = await sts.fetchAs(as, "/token", { method: "POST", headers: { "content-type": contentType }, body: new URLSearchParams(fields).toString() });
  const body = (await res.json()) as Record<string, unknown>;
  if (typeof body.access_token === "string") seenTokens.push(body.access_token);
  return { status: res.status, body, headers: res.headers };
}

function exchangeFields(subjectToken: string, audience: string): Record<string, string> {
  seenTokens.push(subjectToken);
  return { grant_type: GRANT, subject_token: subjectToken, subject_token_type: JWT_TYPE, audience };
}

async function jwks(sts: StsProcess): Promise<{ keys: JWK[] }> {
  const res = await sts.fetchAs("anyone", "/.well-known/jwks.json");
  assert.equal(res.status, 200);
  return (await res.json()) as { keys: JWK[] };
}

async function verifyIssued(sts: StsProcess, token: string, audience: string): Promise<JWTPayload> {
  const ns = sts.config.namespace as string;
  const { payload } = await jwtVerify(token, createLocalJWKSet(await jwks(sts)), { issuer: `${sts.config.cell}--sts-service.${ns}`, audience });
  return payload;
}

const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString()) as Record<string, unknown>;

test("JWKS: public keys only, kid = RFC 7638 thumbprint, served over mTLS", async () => {
  const res = await reviews.fetchAs("anyone", "/.well-known/jwks.json");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /json/);
  const set = (await res.json()) as { keys: Record<string, string>[] };
  assert.equal(set.keys.length, 2);
  for (const k of set.keys) {
    assert.deepEqual(Object.keys(k).sort(), ["alg", "crv", "kid", "kty", "use", "x", "y"]);
    assert.equal(k.kid, await calculateJwkThumbprint({ kty: k.kty, crv: k.crv, x: k.x, y: k.y }));
  }
});

test("exchange: a global user token becomes a reviews token for customer-products, bound to the caller", async () => {
  const edge = await user(
    { sub: "alice", email: "alice@example.com", groups: ["buyers"], jti: "edge-1", cell: { name: "forged" }, act: { sub: "forged" }, may_act: { sub: "x" }, cnf: { spiffe_id: "spiffe://cluster.local/ns/x/sa/y" } },
    { expiresIn: 3600 },
  );
  const { status, body, headers } = await exchange(reviews, exchangeFields(edge, "customer-products"));
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(headers.get("cache-control"), "no-store");
  assert.equal(body.issued_token_type, JWT_TYPE);
  assert.equal(body.token_type, "Bearer");
  assert.equal(body.expires_in, 300);
  const token = body.access_token as string;
  const claims = await verifyIssued(reviews, token, "customer-products.customer-products");
  assert.equal(claims.iss, "reviews--sts-service.reviews");
  assert.deepEqual(claims.aud, ["customer-products.customer-products"]);
  assert.equal(claims.sub, "alice");
  assert.equal(claims.email, "alice@example.com");
  assert.deepEqual(claims.groups, ["buyers"]);
  assert.deepEqual(claims.cell, { name: "reviews", workload: "reviews-service" }, "cell claim is ours, not the subject token's");
  assert.deepEqual(claims.cnf, { spiffe_id: RS }, "bound to the calling workload");
  // An edge token's act, may_act and cnf are never carried: the only actor is the calling workload.
  assert.deepEqual(claims.act, { sub: RS });
  assert.equal(claims.may_act, undefined);
  assert.notEqual(claims.jti, "edge-1");
  assert.equal((claims.exp as number) - (claims.iat as number), 300);
  const kid = decodeProtectedHeader(token).kid;
  assert.equal(kid, (await jwks(reviews)).keys[0].kid, "signed with the current key");
});

test("exchange: the token never outlives the subject token", async () => {
  const edge = await user({ sub: "bob" }, { expiresIn: 40 });
  const userExp = claimsOf(edge).exp;
  const { status, body } = await exchange(reviews, exchangeFields(edge, "customer-products"));
  assert.equal(status, 200, JSON.stringify(body));
  const claims = await verifyIssued(reviews, body.access_token as string, "customer-products.customer-products");
  assert.equal(claims.exp, userExp);
  assert.ok((body.expires_in as number) <= 40);
});

test("exchange chain: a peer's token (fetched over mTLS) is accepted by the destination cell and act nests SPIFFE IDs", async () => {
  const edge = await user({ sub: "carol" });
  // reviews-service asks for a token for categories-service (RFC 8693 resource -> may_act).
  const first = await exchange(reviews, { ...exchangeFields(edge, "customer-products"), resource: CATS });
  assert.equal(first.status, 200);
  assert.deepEqual(claimsOf(first.body.access_token as string).may_act, { sub: CATS });
  // customer-products' categories-service receives reviews' token and exchanges it onwards.
  const second = await exchange(cp, exchangeFields(first.body.access_token as string, "reviews"), "categories-service");
  assert.equal(second.status, 200, JSON.stringify(second.body));
  const claims = await verifyIssued(cp, second.body.access_token as string, "reviews.reviews");
  assert.equal(claims.sub, "carol");
  assert.deepEqual(claims.act, { sub: CATS, act: { sub: RS } });
  assert.deepEqual(claims.cnf, { spiffe_id: CATS }, "re-bound to the new presenter");
  assert.equal(claims.iss, "customer-products--sts-service.customer-products");
  assert.deepEqual(claims.cell, { name: "customer-products", workload: "categories-service" });
});

async function refused(sts: StsProcess, fields: Record<string, string>, error: string, description: RegExp, as?: Caller, contentType?: string) {
  const { status, body } = await exchange(sts, fields, as, contentType);
  assert.equal(status, 400, JSON.stringify(body));
  assert.equal(body.error, error, JSON.stringify(body));
  assert.match(body.error_description as string, description);
  assert.equal(body.access_token, undefined);
}

// Attack 1 of issue 9: any workload name, on request.
test("attack: a self-chosen source_workload is refused; the token names the authenticated workload", async () => {
  const edge = await user({ sub: "mallory" });
  for (const chosen of ["payments-admin", "gateway", "customer-products--gateway", ""]) {
    await refused(reviews, { ...exchangeFields(edge, "customer-products"), source_workload: chosen }, "invalid_request", /source_workload/);
  }
  // Agreeing with the caller is harmless (old clients), and without it the caller's name is used.
  const same = await exchange(reviews, { ...exchangeFields(edge, "customer-products"), source_workload: "reviews-service" });
  assert.equal(same.status, 200);
  const plain = await exchange(reviews, exchangeFields(edge, "customer-products"), "ratings-service");
  assert.equal(plain.status, 200);
  assert.deepEqual(claimsOf(plain.body.access_token as string).cell, { name: "reviews", workload: "ratings-service" });
});

test("attack: a token exchanged once cannot be re-exchanged under a chosen source_workload", async () => {
  const first = await exchange(reviews, { ...exchangeFields(await user({ sub: "mallory" }), "customer-products"), resource: CATS });
  assert.equal(first.status, 200);
  const cellToken = first.body.access_token as string;
  await refused(cp, { ...exchangeFields(cellToken, "customer-products"), source_workload: "anything-i-like" }, "invalid_request", /source_workload/);
  const again = await exchange(cp, exchangeFields(cellToken, "customer-products"), "categories-service");
  assert.equal(again.status, 200);
  assert.equal((claimsOf(again.body.access_token as string).cell as { workload: string }).workload, "categories-service");
});

/** Signs `claims` with the current private key of `sts` (what an attacker holding a trusted key could mint). */
async function signWithStsKey(sts: StsProcess, claims: JWTPayload): Promise<string> {
  const stored = JSON.parse(readFileSync(join(sts.keysDir, "signing-keys.json"), "utf8")) as { keys: { kid: string; alg: string; state: string; privateJwk: JWK }[] };
  const cur = stored.keys.find((k) => k.state === "current")!;
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: cur.alg, kid: cur.kid, typ: "JWT" })
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .sign(await importJWK(cur.privateJwk, cur.alg));
}

// Attack 2 of issue 9: any source cell for anyone holding a trusted key.
test("attack: a cell token whose cell.name disagrees with its issuer is refused (cell_mismatch)", async () => {
  const base = { iss: "reviews--sts-service.reviews", aud: ["customer-products.customer-products"], sub: "mallory" };
  for (const cell of [{ name: "NonExistingCell", workload: "x" }, { name: "customer-products" }, "reviews", { workload: "x" }]) {
    const forged = await signWithStsKey(reviews, { ...base, cell });
    seenTokens.push(forged);
    await refused(cp, exchangeFields(forged, "customer-products"), "invalid_grant", /cell_mismatch/);
  }
  // The same key with an honest (or absent) cell claim is fine: only the disagreement is refused.
  for (const extra of [{ cell: { name: "reviews", workload: "reviews-service" } }, {}]) {
    const honest = await signWithStsKey(reviews, { ...base, may_act: { sub: CATS }, ...extra });
    seenTokens.push(honest);
    assert.equal((await exchange(cp, exchangeFields(honest, "customer-products"), "categories-service")).status, 200);
  }
});

// Found by the attack review: a workload that stole a cell token had the STS re-bind it to itself.
test("attack: a cell token is a subject only for its holder (cnf) or the workload it was issued for (may_act)", async () => {
  const edge = await user({ sub: "alice" });
  const t = await exchange(reviews, { ...exchangeFields(edge, "customer-products"), resource: CATS });
  assert.equal(t.status, 200);
  const token = t.body.access_token as string;
  // products-service (same namespace as categories-service) stole it: refused.
  await refused(cp, exchangeFields(token, "customer-products"), "invalid_grant", /bound to another workload/, "products-service");
  // The holder and the intended workload may.
  assert.equal((await exchange(cp, exchangeFields(token, "customer-products"), "categories-service")).status, 200);
  // A resource of another cell than the audience, or not a SPIFFE ID, is refused.
  await refused(reviews, { ...exchangeFields(edge, "customer-products"), resource: RS }, "invalid_target", /resource/);
  await refused(reviews, { ...exchangeFields(edge, "customer-products"), resource: "https://categories.example" }, "invalid_target", /resource/);
});

// Attack 3 of issue 9: edge tokens for any audience.
test("attack: edge tokens with a foreign or missing aud are refused at /token", async () => {
  const foreign = await idp.mint({ sub: "alice", aud: "https://payroll.other-app.example" });
  await refused(reviews, exchangeFields(foreign, "customer-products"), "invalid_grant", /wrong_audience/);
  const foreignList = await idp.mint({ sub: "alice", aud: ["https://payroll.other-app.example", "reviews.reviews"] });
  await refused(reviews, exchangeFields(foreignList, "customer-products"), "invalid_grant", /wrong_audience/);
  const none = await idp.mint({ sub: "alice" });
  await refused(reviews, exchangeFields(none, "customer-products"), "invalid_grant", /wrong_audience/);
  const listed = await idp.mint({ sub: "alice", aud: ["https://other.example", APP] });
  assert.equal((await exchange(reviews, exchangeFields(listed, "customer-products"))).status, 200);
});

test("attack: callers from another namespace or trust domain are 403; no SPIFFE ID is 401", async () => {
  const edge = await user({ sub: "alice" });
  const fields = new URLSearchParams(exchangeFields(edge, "customer-products")).toString();
  const post = (as: Caller) => reviews.fetchAs(as, "/token", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: fields });
  for (const as of [
    { namespace: "customer-products", sa: "reviews-service" },
    await reviews.ca.issue("reviews", "reviews-service", { trustDomain: "evil.example" }),
  ]) {
    const res = await post(as);
    assert.equal(res.status, 403);
    assert.deepEqual(await res.json(), { error: "unauthorized_client" });
  }
  const noId = await post(await reviews.ca.issue("reviews", "reviews-service", { noSpiffeId: true }));
  assert.equal(noId.status, 401);
  assert.deepEqual(await noId.json(), { error: "invalid_client" });
});

test("attack: a client without a certificate, or with one from another CA, cannot connect", async () => {
  const { SpiffeCa } = await import("../lib/spiffe-ca.ts");
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  await assert.rejects(reviews.fetchAs(null, "/.well-known/jwks.json"));
  await assert.rejects(reviews.fetchAs(null, "/token", { method: "POST", body: "" }));
  const dir = mkdtempSync(join(tmpdir(), "cellauth-rogue-ca-"));
  try {
    const rogue = await (await SpiffeCa.create(dir)).issue("reviews", "reviews-service");
    await assert.rejects(reviews.fetchAs(rogue, "/healthz"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("tokenExchange.allowed limits the destination cells per workload", async () => {
  const edge = await user({ sub: "alice" });
  assert.equal(
    await reviews.applyConfig({ tokenExchange: { allowed: [{ workload: "reviews-service", audiences: ["customer-products"] }, { workload: "*", audiences: ["reviews"] }] } }),
    "applied",
  );
  try {
    assert.equal((await exchange(reviews, exchangeFields(edge, "customer-products"))).status, 200);
    assert.equal((await exchange(reviews, exchangeFields(edge, "reviews"))).status, 200);
    await refused(reviews, exchangeFields(edge, "customer-products"), "invalid_target", /may not request/, "ratings-service");
    assert.equal((await exchange(reviews, exchangeFields(edge, "reviews"), "ratings-service")).status, 200);
    assert.equal(await reviews.applyConfig({ tokenExchange: { allowed: [{ workload: "*", audiences: ["payments"] }] } }), "rejected", "an unknown cell is a config error");
  } finally {
    assert.equal(await reviews.applyConfig({ tokenExchange: {} }), "applied");
  }
});

test("refused: wrong audience (a reviews token meant for reviews, presented to customer-products)", async () => {
  const own = await exchange(reviews, exchangeFields(await user({ sub: "dave" }), "reviews"));
  assert.equal(own.status, 200);
  await refused(cp, exchangeFields(own.body.access_token as string, "reviews"), "invalid_grant", /wrong_audience/);
});

test("refused: expired subject token (beyond the clock skew)", async () => {
  await refused(reviews, exchangeFields(await user({ sub: "erin" }, { expiresIn: -120 }), "customer-products"), "invalid_grant", /expired/);
});

test("refused: a subject token expired within the clock skew cannot yield a live token", async () => {
  await refused(reviews, exchangeFields(await user({ sub: "erin" }, { expiresIn: -5 }), "customer-products"), "invalid_grant", /expired/);
});

test("refused: untrusted issuer, and a trusted issuer name with a foreign key", async () => {
  const rogue = await createGlobalIssuer("https://rogue.example");
  await refused(reviews, exchangeFields(await rogue.mint({ sub: "mallory", aud: APP }), "customer-products"), "invalid_grant", /untrusted_issuer/);
  const impostor = await rogue.mint({ sub: "mallory", aud: APP }, { issuer: idp.issuer, kid: idp.kid });
  await refused(reviews, exchangeFields(impostor, "customer-products"), "invalid_grant", /bad_signature/);
  const unsigned = new UnsecuredJWT({ sub: "mallory", aud: APP }).setIssuer(idp.issuer).setExpirationTime("5m").encode();
  await refused(reviews, exchangeFields(unsigned, "customer-products"), "invalid_grant", /bad_signature|malformed/);
});

test("refused: grant type, audience, parameters, content type", async () => {
  const edge = await user({ sub: "frank" });
  await refused(reviews, { ...exchangeFields(edge, "customer-products"), grant_type: "client_credentials" }, "unsupported_grant_type", /token exchange/);
  const { grant_type: _g, ...noGrant } = exchangeFields(edge, "customer-products");
  await refused(reviews, noGrant, "invalid_request", /grant_type/);
  await refused(reviews, exchangeFields(edge, "payments"), "invalid_target", /not a known cell/);
  await refused(reviews, { ...exchangeFields(edge, "customer-products"), subject_token_type: "urn:ietf:params:oauth:token-type:saml2" }, "invalid_request", /subject_token_type/);
  await refused(reviews, { ...exchangeFields(edge, "customer-products"), source_workload: "../etc" }, "invalid_request", /source_workload/);
  await refused(reviews, exchangeFields(edge, "customer-products"), "invalid_request", /content type/, undefined, "application/json");
  await refused(reviews, { grant_type: GRANT, audience: "customer-products" }, "invalid_request", /subject_token is required/);
});

test("refused: a repeated parameter", async () => {
  const res = await reviews.fetchAs("reviews-service", "/token", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: `grant_type=${encodeURIComponent(GRANT)}&audience=reviews&audience=customer-products`,
  });
  assert.equal(res.status, 400);
  assert.equal(((await res.json()) as { error: string }).error, "invalid_request");
});

test("an STS with neither tls nor peerIdentity xfcc refuses /token and /authorize with 401 invalid_client", async () => {
  const bare = await startSts({ cell: "reviews", namespace: "reviews", identity: "none", config: { enableAuthorization: false, insecureAcknowledgements: ["enableAuthorization"], allowTokenWithoutSubject: true } });
  try {
    for (const path of ["/token", "/authorize"]) {
      // Even a forged x-forwarded-client-cert is no identity without peerIdentity xfcc.
      const res = await bare.fetchAs(null, path, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", "x-forwarded-client-cert": `URI=${RS}` },
        body: `grant_type=${encodeURIComponent(GRANT)}&audience=reviews`,
      });
      assert.equal(res.status, 401, path);
      assert.equal(((await res.json()) as { error: string }).error, "invalid_client");
    }
    const health = await bare.fetchAs(null, "/healthz");
    assert.equal(health.status, 200);
    await health.arrayBuffer();
  } finally {
    await bare.stop();
  }
});

test("metrics count issued tokens and each error", async () => {
  const text = await (await reviews.fetchAs("prometheus", "/metrics")).text();
  assert.match(text, /# TYPE sts_token_requests_total counter/);
  const count = (label: string) => Number(new RegExp(`sts_token_requests_total\\{result="${label}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
  assert.ok(count("issued") >= 4);
  assert.ok(count("invalid_grant") >= 5);
  assert.equal(count("unsupported_grant_type"), 1);
  assert.ok(count("invalid_target") >= 2);
  assert.match(text, /sts_callers_refused_total\{reason="unauthorized"\} 2/);
});

test("logs are JSON and contain no token and no private key", () => {
  for (const sts of [reviews, cp]) {
    const logs = sts.logs();
    for (const line of logs.split("\n").filter(Boolean)) assert.doesNotThrow(() => JSON.parse(line), line.slice(0, 80));
    assert.ok(seenTokens.length >= 10);
    for (const t of seenTokens) {
      assert.ok(!logs.includes(t.split(".")[1]), "a token payload reached the logs");
      assert.ok(!logs.includes(t.split(".")[2] || "\u0000"), "a token signature reached the logs");
    }
    const keys = JSON.parse(readFileSync(join(sts.keysDir, "signing-keys.json"), "utf8")) as { keys: { privateJwk: { d: string } }[] };
    for (const k of keys.keys) assert.ok(!logs.includes(k.privateJwk.d));
  }
});
