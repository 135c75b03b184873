// RFC 8693 token exchange over real HTTP against two real STS processes (reviews and
// customer-products, each trusting the other and a local global issuer).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createRemoteJWKSet, jwtVerify, decodeProtectedHeader, calculateJwkThumbprint, UnsecuredJWT, type JWTPayload } from "jose";
import { startSts, type StsProcess } from "../lib/sts-process.ts";
import { createGlobalIssuer, type GlobalIssuer } from "../lib/global-issuer.ts";

const GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt";

let idp: GlobalIssuer;
let reviews: StsProcess;
let cp: StsProcess;
const seenTokens: string[] = [];

before(async () => {
  idp = await createGlobalIssuer();
  const globalJWKS = { issuer: idp.issuer, jwks: idp.jwks };
  reviews = await startSts({ cell: "reviews", config: { globalJWKS, enableAuthorization: false } });
  cp = await startSts({
    cell: "customer-products",
    config: { globalJWKS, enableAuthorization: false, trustedPeers: [{ cell: "reviews", jwksUri: reviews.jwksUri }] },
  });
  // Once applied, reviews knows customer-products as an audience.
  assert.equal(await reviews.applyConfig({ trustedPeers: [{ cell: "customer-products", jwksUri: cp.jwksUri }] }), "applied");
});
after(async () => {
  await reviews?.stop();
  await cp?.stop();
});

async function exchange(sts: StsProcess, fields: Record<string, string>, contentType = "application/x-www-form-urlencoded") {
  const res = await fetch(`${sts.url}/token`, { method: "POST", headers: { "content-type": contentType }, body: new URLSearchParams(fields).toString() });
  const body = (await res.json()) as Record<string, unknown>;
  if (typeof body.access_token === "string") seenTokens.push(body.access_token);
  return { status: res.status, body, headers: res.headers };
}

function exchangeFields(subjectToken: string, audience: string, workload = "reviews-service"): Record<string, string> {
  seenTokens.push(subjectToken);
  return { grant_type: GRANT, subject_token: subjectToken, subject_token_type: JWT_TYPE, audience, source_workload: workload };
}

async function verifyIssued(sts: StsProcess, token: string, audience: string): Promise<JWTPayload> {
  const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(sts.jwksUri)), {
    issuer: `${sts.config.cell}--sts-service.default`,
    audience,
  });
  return payload;
}

test("JWKS: public keys only, kid = RFC 7638 thumbprint", async () => {
  const res = await fetch(reviews.jwksUri);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /json/);
  const jwks = (await res.json()) as { keys: Record<string, string>[] };
  assert.equal(jwks.keys.length, 2);
  for (const k of jwks.keys) {
    assert.deepEqual(Object.keys(k).sort(), ["alg", "crv", "kid", "kty", "use", "x", "y"]);
    assert.equal(k.kid, await calculateJwkThumbprint({ kty: k.kty, crv: k.crv, x: k.x, y: k.y }));
  }
});

test("exchange: a global user token becomes a reviews token for customer-products", async () => {
  const user = await idp.mint({ sub: "alice", email: "alice@example.com", groups: ["buyers"], jti: "edge-1", cell: { name: "forged" }, act: { sub: "forged" } }, { expiresIn: 3600 });
  const { status, body, headers } = await exchange(reviews, exchangeFields(user, "customer-products"));
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(headers.get("cache-control"), "no-store");
  assert.equal(body.issued_token_type, JWT_TYPE);
  assert.equal(body.token_type, "Bearer");
  assert.equal(body.expires_in, 300);
  const token = body.access_token as string;
  const claims = await verifyIssued(reviews, token, "customer-products.default");
  assert.equal(claims.iss, "reviews--sts-service.default");
  assert.deepEqual(claims.aud, ["customer-products.default"]);
  assert.equal(claims.sub, "alice");
  assert.equal(claims.email, "alice@example.com");
  assert.deepEqual(claims.groups, ["buyers"]);
  assert.deepEqual(claims.cell, { name: "reviews", workload: "reviews-service" }, "cell claim is ours, not the subject token's");
  // RFC 8693: the new actor is outermost and the subject token's chain nests inside it.
  assert.deepEqual(claims.act, { sub: "reviews--sts-service.default", act: { sub: "forged" } });
  assert.notEqual(claims.jti, "edge-1");
  assert.equal((claims.exp as number) - (claims.iat as number), 300);
  const kid = decodeProtectedHeader(token).kid;
  const jwks = (await (await fetch(reviews.jwksUri)).json()) as { keys: { kid: string }[] };
  assert.equal(kid, jwks.keys[0].kid, "signed with the current key");
});

test("exchange: the token never outlives the subject token", async () => {
  const user = await idp.mint({ sub: "bob" }, { expiresIn: 40 });
  const userExp = (JSON.parse(Buffer.from(user.split(".")[1], "base64url").toString()) as { exp: number }).exp;
  const { status, body } = await exchange(reviews, exchangeFields(user, "customer-products"));
  assert.equal(status, 200, JSON.stringify(body));
  const claims = await verifyIssued(reviews, body.access_token as string, "customer-products.default");
  assert.equal(claims.exp, userExp);
  assert.ok((body.expires_in as number) <= 40);
});

test("exchange chain: a peer's token is accepted by the destination cell and act nests", async () => {
  const user = await idp.mint({ sub: "carol" });
  const first = await exchange(reviews, exchangeFields(user, "customer-products"));
  assert.equal(first.status, 200);
  // customer-products receives reviews' token (aud customer-products.default) and exchanges it onwards.
  const second = await exchange(cp, exchangeFields(first.body.access_token as string, "reviews", "categories-service"));
  assert.equal(second.status, 200, JSON.stringify(second.body));
  const claims = await verifyIssued(cp, second.body.access_token as string, "reviews.default");
  assert.equal(claims.sub, "carol");
  assert.deepEqual(claims.act, { sub: "customer-products--sts-service.default", act: { sub: "reviews--sts-service.default" } });
  assert.equal(claims.iss, "customer-products--sts-service.default");
  assert.deepEqual(claims.cell, { name: "customer-products", workload: "categories-service" });
});

async function refused(sts: StsProcess, fields: Record<string, string>, error: string, description: RegExp, contentType?: string) {
  const { status, body } = await exchange(sts, fields, contentType);
  assert.equal(status, 400, JSON.stringify(body));
  assert.equal(body.error, error, JSON.stringify(body));
  assert.match(body.error_description as string, description);
  assert.equal(body.access_token, undefined);
}

test("refused: wrong audience (a reviews token meant for reviews, presented to customer-products)", async () => {
  const user = await idp.mint({ sub: "dave" });
  const own = await exchange(reviews, exchangeFields(user, "reviews"));
  assert.equal(own.status, 200);
  await refused(cp, exchangeFields(own.body.access_token as string, "reviews"), "invalid_grant", /wrong_audience/);
});

test("refused: expired subject token (beyond the clock skew)", async () => {
  const user = await idp.mint({ sub: "erin" }, { expiresIn: -120 });
  await refused(reviews, exchangeFields(user, "customer-products"), "invalid_grant", /expired/);
});

test("refused: a subject token expired within the clock skew cannot yield a live token", async () => {
  const user = await idp.mint({ sub: "erin" }, { expiresIn: -5 });
  await refused(reviews, exchangeFields(user, "customer-products"), "invalid_grant", /expired/);
});

test("refused: untrusted issuer, and a trusted issuer name with a foreign key", async () => {
  const rogue = await createGlobalIssuer("https://rogue.example");
  await refused(reviews, exchangeFields(await rogue.mint({ sub: "mallory" }), "customer-products"), "invalid_grant", /untrusted_issuer/);
  const impostor = await rogue.mint({ sub: "mallory" }, { issuer: idp.issuer, kid: idp.kid });
  await refused(reviews, exchangeFields(impostor, "customer-products"), "invalid_grant", /bad_signature/);
  const unsigned = new UnsecuredJWT({ sub: "mallory" }).setIssuer(idp.issuer).setExpirationTime("5m").encode();
  await refused(reviews, exchangeFields(unsigned, "customer-products"), "invalid_grant", /bad_signature|malformed/);
});

test("refused: grant type, audience, parameters, content type", async () => {
  const user = await idp.mint({ sub: "frank" });
  await refused(reviews, { ...exchangeFields(user, "customer-products"), grant_type: "client_credentials" }, "unsupported_grant_type", /token exchange/);
  const { grant_type: _g, ...noGrant } = exchangeFields(user, "customer-products");
  await refused(reviews, noGrant, "invalid_request", /grant_type/);
  await refused(reviews, exchangeFields(user, "payments"), "invalid_target", /not a known cell/);
  await refused(reviews, { ...exchangeFields(user, "customer-products"), subject_token_type: "urn:ietf:params:oauth:token-type:saml2" }, "invalid_request", /subject_token_type/);
  await refused(reviews, { ...exchangeFields(user, "customer-products"), source_workload: "../etc" }, "invalid_request", /source_workload/);
  await refused(reviews, exchangeFields(user, "customer-products"), "invalid_request", /content type/, "application/json");
  await refused(reviews, { grant_type: GRANT, audience: "customer-products", source_workload: "reviews-service" }, "invalid_request", /subject_token is required/);
});

test("refused: a repeated parameter", async () => {
  const res = await fetch(`${reviews.url}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: `grant_type=${encodeURIComponent(GRANT)}&audience=reviews&audience=customer-products&source_workload=reviews-service`,
  });
  assert.equal(res.status, 400);
  assert.equal(((await res.json()) as { error: string }).error, "invalid_request");
});

test("metrics count issued tokens and each error", async () => {
  const text = await (await fetch(`${reviews.url}/metrics`)).text();
  assert.match(text, /# TYPE sts_token_requests_total counter/);
  const count = (label: string) => Number(new RegExp(`sts_token_requests_total\\{result="${label}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
  assert.ok(count("issued") >= 4);
  assert.ok(count("invalid_grant") >= 5);
  assert.equal(count("unsupported_grant_type"), 1);
  assert.equal(count("invalid_target"), 1);
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
