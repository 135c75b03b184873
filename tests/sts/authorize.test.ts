// POST /authorize against a real OPA: Cellery's input document (source identity from the
// verified issuer and the mTLS peer, never from claims), the caller checks, and the mapping of
// every OPA answer (true, false, undefined, non-boolean, error, unreachable, hung) to a decision.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { importJWK, SignJWT, type JWK, type JWTPayload } from "jose";
import { startCell, startSts, defaultPolicyDir, seedPolicyDir, waitFor, type Caller, type CellProcesses, type StsProcess } from "../lib/sts-process.ts";
import { createGlobalIssuer, type GlobalIssuer } from "../lib/global-issuer.ts";

const GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt";
const APP = "https://shop.cellauth.local";
const RS = "spiffe://cluster.local/ns/reviews/sa/reviews-service";
const CATS = "spiffe://cluster.local/ns/customer-products/sa/categories-service";

// Policies that only these tests need; they sit next to the shipped defaults.
const TEST_POLICY = `package cellery.io

shape_check_allow if {
	input.requestId == "req-42"
	input.source == {"principal": "spiffe://cluster.local/ns/reviews/sa/reviews-service", "workload": "reviews-service", "namespace": "reviews", "cellInstanceName": "reviews"}
	input.destination == {"cellName": "customer-products", "workload": "shape-check", "isExternalToCellery": false}
	input.requestContext == {"host": "customer-products--gateway", "path": "/shape", "rawPath": "/shape//x/..", "query": "a=1", "method": "GET", "protocol": "HTTP/1.1"}
	input.requestHeaders == {"x-demo": "1"}
	input.authorizationContext.jwtContent.claims.sub == "alice"
	input.authorizationContext.jwtContent.claims.iss == "reviews--sts-service.reviews"
	object.keys(input.authorizationContext) == {"jwtContent"}
}

raw_check_allow if startswith(input.authorizationContext.jwt, "eyJ")

non_boolean_service_allow := "yes"

conflict_service_allow if input.requestId != ""

conflict_service_allow := false if input.requestId != ""

# Only callers whose source cell is customer-products (from the verified issuer).
edge_check_allow if input.source.cellInstanceName == "customer-products"
`;

let idp: GlobalIssuer;
let reviews: StsProcess;
let cell: CellProcesses;
let hung: Server;
let scratch: string;

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), "cellauth-authz-test-"));
  const testPolicy = join(scratch, "tests.rego");
  writeFileSync(testPolicy, TEST_POLICY);
  idp = await createGlobalIssuer();
  const globalJWKS = { issuer: idp.issuer, jwks: idp.jwks, audiences: [APP] };
  reviews = await startSts({ cell: "reviews", namespace: "reviews", config: { globalJWKS, enableAuthorization: false, insecureAcknowledgements: ["enableAuthorization"] } });
  cell = await startCell({
    cell: "customer-products",
    namespace: "customer-products",
    policies: [defaultPolicyDir, testPolicy],
    config: { globalJWKS, trustedPeers: [{ cell: "reviews", namespace: "reviews", jwksUri: reviews.jwksUri }], unsecuredPaths: ["^/healthz$"] },
  });
  assert.equal(
    await reviews.applyConfig({ trustedPeers: [{ cell: "customer-products", namespace: "customer-products", jwksUri: cell.sts.jwksUri }] }),
    "applied",
  );
  // An HTTP server that accepts requests and never answers: a hung OPA.
  hung = createServer(() => {});
  await new Promise<void>((r) => hung.listen(0, "127.0.0.1", () => r()));
});
after(async () => {
  hung?.closeAllConnections();
  hung?.close();
  await reviews?.stop();
  await cell?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/** A token that reviews-service got from its STS for customer-products (bound to RS), as the outbound filter would attach. */
async function interCellToken(opts: { expiresIn?: number; audience?: string } = {}): Promise<string> {
  const user = await idp.mint({ sub: "alice", email: "alice@example.com", aud: APP }, { expiresIn: opts.expiresIn ?? 300 });
  const form = new URLSearchParams({ grant_type: GRANT, subject_token: user, subject_token_type: JWT_TYPE, audience: opts.audience ?? "customer-products" });
  const res = await reviews.fetchAs("reviews-service", "/token", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form });
  const body = (await res.json()) as { access_token: string };
  assert.equal(res.status, 200, JSON.stringify(body));
  return body.access_token;
}

/** Signs `claims` with the current private key of `sts` (what an attacker holding a trusted key could mint). */
async function signWithStsKey(sts: StsProcess, claims: JWTPayload): Promise<string> {
  const stored = JSON.parse(readFileSync(join(sts.keysDir, "signing-keys.json"), "utf8")) as { keys: { kid: string; alg: string; state: string; privateJwk: JWK }[] };
  const cur = stored.keys.find((k) => k.state === "current")!;
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: "reviews--sts-service.reviews", aud: ["customer-products.customer-products"], sub: "mallory", ...claims })
    .setProtectedHeader({ alg: cur.alg, kid: cur.kid, typ: "JWT" })
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .sign(await importJWK(cur.privateJwk, cur.alg));
}

interface Decision {
  allow: boolean;
  status: string;
  ttlSeconds: number;
  reason?: string;
}

/**
 * Asks customer-products' STS as the sidecar of `workload` (or `as`), for a request whose mTLS
 * peer was `principal` (default reviews-service).
 */
async function authorize(
  workload: string,
  jwt: string | undefined,
  extra: Record<string, unknown> = {},
  opts: { as?: Caller; principal?: string } = {},
): Promise<{ code: number; body: Decision }> {
  const res = await cell.sts.fetchAs(opts.as === undefined ? workload : opts.as, "/authorize", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      requestId: "req-1",
      source: { principal: opts.principal ?? RS },
      destination: { cellName: "customer-products", workload },
      requestContext: { host: "customer-products--gateway", path: "/categories", method: "GET", protocol: "HTTP/1.1" },
      jwt,
      ...extra,
    }),
  });
  return { code: res.status, body: (await res.json()) as Decision };
}

test("allow: the default policy allows a demo workload, with a TTL within decisionTtlSeconds", async () => {
  const { code, body } = await authorize("categories-service", await interCellToken());
  assert.equal(code, 200);
  assert.deepEqual({ allow: body.allow, status: body.status }, { allow: true, status: "ALLOWED" });
  assert.ok(body.ttlSeconds > 0 && body.ttlSeconds <= 30, `ttl ${body.ttlSeconds}`);
});

test("the decision TTL never outlives the token", async () => {
  const { body } = await authorize("categories-service", await interCellToken({ expiresIn: 12 }));
  assert.equal(body.status, "ALLOWED");
  assert.ok(body.ttlSeconds <= 12, `ttl ${body.ttlSeconds}`);
});

test("OPA receives Cellery's input document, without the raw token unless configured", async () => {
  const jwt = await interCellToken();
  const shape = await authorize("shape-check", jwt, {
    requestId: "req-42",
    requestContext: { host: "customer-products--gateway", path: "/shape", rawPath: "/shape//x/..", query: "a=1", method: "GET", protocol: "HTTP/1.1" },
    requestHeaders: { "X-Demo": "1" },
  });
  assert.equal(shape.body.status, "ALLOWED", "the policy's exact-shape checks all held");
  assert.equal((await authorize("raw-check", jwt)).body.status, "POLICY_UNDEFINED", "no raw token by default");
  assert.equal(await cell.sts.applyConfig({ opa: { ...cell.opa.stsConfig, includeRawToken: true } }), "applied");
  try {
    assert.equal((await authorize("raw-check", jwt)).body.status, "ALLOWED");
  } finally {
    assert.equal(await cell.sts.applyConfig({ opa: cell.opa.stsConfig }), "applied");
  }
});

test("undefined and non-boolean results deny with POLICY_UNDEFINED", async () => {
  const jwt = await interCellToken();
  for (const workload of ["unknown-service", "non-boolean-service"]) {
    const { code, body } = await authorize(workload, jwt);
    assert.equal(code, 200);
    assert.deepEqual({ allow: body.allow, status: body.status }, { allow: false, status: "POLICY_UNDEFINED" }, workload);
  }
});

test("an OPA evaluation error (HTTP 500) denies with 503 OPA_UNAVAILABLE", async () => {
  const { code, body } = await authorize("conflict-service", await interCellToken());
  assert.equal(code, 503);
  assert.equal(body.allow, false);
  assert.equal(body.status, "OPA_UNAVAILABLE");
});

test("deny: the seed policy, hot-reloaded by OPA, denies categories-service except from NonExistingCell", async () => {
  const jwt = await interCellToken();
  assert.equal((await authorize("categories-service", jwt)).body.status, "ALLOWED");
  copyFileSync(join(seedPolicyDir, "customer-products.rego"), join(cell.opa.policyDir, "seed.rego"));
  try {
    const denied = await waitFor("OPA to load the seed policy", async () => {
      const d = await authorize("categories-service", jwt);
      return d.body.status === "ALLOWED" ? undefined : d;
    });
    assert.equal(denied.code, 200);
    assert.deepEqual({ allow: denied.body.allow, status: denied.body.status }, { allow: false, status: "DENIED_BY_POLICY" });
    assert.ok(denied.body.ttlSeconds > 0);
    assert.equal((await authorize("products-service", jwt)).body.status, "ALLOWED", "other workloads are untouched");
    // Attack 2 of issue 9: the source cell comes from the verified issuer, never from a claim.
    // An edge token naming NonExistingCell is denied like any other...
    const fromNonExisting = await idp.mint({ sub: "svc", aud: APP, cell: { name: "NonExistingCell", workload: "x" } });
    assert.equal((await authorize("categories-service", fromNonExisting, {}, { principal: "" })).body.status, "DENIED_BY_POLICY");
    // ...and a token under the reviews STS key that says NonExistingCell is no token at all.
    const forged = await signWithStsKey(reviews, { cell: { name: "NonExistingCell", workload: "x" } });
    const r = await authorize("categories-service", forged);
    assert.deepEqual({ code: r.code, status: r.body.status, reason: r.body.reason }, { code: 401, status: "TOKEN_INVALID", reason: "cell_mismatch" });
  } finally {
    rmSync(join(cell.opa.policyDir, "seed.rego"));
  }
  await waitFor("OPA to drop the seed policy", async () => ((await authorize("categories-service", jwt)).body.status === "ALLOWED" ? true : undefined));
});

test("an invalid token is 401 TOKEN_INVALID, before OPA is asked", async () => {
  const wrongAud = await interCellToken({ audience: "reviews" });
  const expired = await idp.mint({ sub: "alice" }, { expiresIn: -300 });
  const cases: [string | undefined, string][] = [[undefined, "missing"], ["not-a-jwt", "malformed"], [wrongAud, "wrong_audience"], [expired, "expired"]];
  for (const [jwt, reason] of cases) {
    const { code, body } = await authorize("categories-service", jwt);
    assert.equal(code, 401, reason);
    assert.deepEqual({ allow: body.allow, status: body.status, reason: body.reason }, { allow: false, status: "TOKEN_INVALID", reason });
  }
});

test("malformed requests are 400; unsecured paths are allowed without a token", async () => {
  assert.equal((await authorize("../../v1/policies", await interCellToken(), {}, { as: "categories-service" })).code, 400);
  const res = await cell.sts.fetchAs("categories-service", "/authorize", { method: "POST", headers: { "content-type": "application/json" }, body: "{" });
  assert.equal(res.status, 400);
  assert.equal(((await res.json()) as Decision).status, "BAD_REQUEST");
  const open = await authorize("categories-service", undefined, { requestContext: { path: "/healthz" } });
  assert.deepEqual({ code: open.code, allow: open.body.allow, status: open.body.status }, { code: 200, allow: true, status: "UNSECURED_PATH" });
  const notOpen = await authorize("categories-service", undefined, { requestContext: { path: "/healthz/../admin" } });
  assert.equal(notOpen.code, 401);
});

test("enableAuthorization=false allows valid tokens only, with AUTHORIZATION_DISABLED", async () => {
  assert.equal(await cell.sts.applyConfig({ enableAuthorization: false, insecureAcknowledgements: ["enableAuthorization"] }), "applied");
  try {
    const ok = await authorize("unknown-service", await interCellToken());
    assert.deepEqual({ allow: ok.body.allow, status: ok.body.status }, { allow: true, status: "AUTHORIZATION_DISABLED" });
    assert.equal((await authorize("unknown-service", "not-a-jwt")).code, 401);
  } finally {
    assert.equal(await cell.sts.applyConfig({ enableAuthorization: true, insecureAcknowledgements: [] }), "applied");
  }
});

test("an OPA that does not answer within timeoutMs gives 503 OPA_UNAVAILABLE", async () => {
  const port = (hung.address() as AddressInfo).port;
  assert.equal(await cell.sts.applyConfig({ opa: { url: `http://127.0.0.1:${port}`, timeoutMs: 200 } }), "applied");
  try {
    const { code, body } = await authorize("categories-service", await interCellToken());
    assert.equal(code, 503);
    assert.deepEqual({ allow: body.allow, status: body.status, reason: body.reason }, { allow: false, status: "OPA_UNAVAILABLE", reason: "timeout" });
  } finally {
    assert.equal(await cell.sts.applyConfig({ opa: cell.opa.stsConfig }), "applied");
  }
  assert.equal((await authorize("categories-service", await interCellToken())).body.status, "ALLOWED");
});

test("attack: an edge token's cell claim never reaches OPA: source.cellInstanceName is \"\"", async () => {
  // The test policy allows edge-check only when source.cellInstanceName == "customer-products".
  const edge = await idp.mint({ sub: "mallory", aud: APP, cell: { name: "customer-products", workload: "categories-service" } });
  const denied = await authorize("edge-check", edge, {}, { principal: "" });
  assert.deepEqual({ code: denied.code, status: denied.body.status }, { code: 200, status: "POLICY_UNDEFINED" });
  // Control: a real customer-products token (verified issuer customer-products) is allowed.
  const user = await idp.mint({ sub: "alice", aud: APP });
  const form = new URLSearchParams({ grant_type: GRANT, subject_token: user, subject_token_type: JWT_TYPE, audience: "customer-products" });
  const res = await cell.sts.fetchAs("categories-service", "/token", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form });
  assert.equal(res.status, 200);
  const own = ((await res.json()) as { access_token: string }).access_token;
  const allowed = await authorize("edge-check", own, {}, { principal: CATS });
  assert.deepEqual({ code: allowed.code, status: allowed.body.status }, { code: 200, status: "ALLOWED" });
});

test("attack: a bound token presented by another workload is TOKEN_INVALID (cnf.spiffe_id != source.principal)", async () => {
  const jwt = await interCellToken(); // cnf: reviews-service
  assert.equal((await authorize("categories-service", jwt)).body.status, "ALLOWED");
  for (const principal of ["spiffe://cluster.local/ns/reviews/sa/ratings-service", CATS, "", "spiffe://evil.example/ns/reviews/sa/reviews-service"]) {
    const { code, body } = await authorize("categories-service", jwt, {}, { principal });
    assert.deepEqual({ code, status: body.status, reason: body.reason }, { code: 401, status: "TOKEN_INVALID", reason: "not_bound_to_peer" }, principal);
  }
});

test("attack: a cell token presented from outside its issuer's namespace is TOKEN_INVALID", async () => {
  const unbound = await signWithStsKey(reviews, { cell: { name: "reviews", workload: "reviews-service" } });
  assert.equal((await authorize("categories-service", unbound)).body.status, "ALLOWED");
  for (const principal of [CATS, ""]) {
    const { code, body } = await authorize("categories-service", unbound, {}, { principal });
    assert.deepEqual({ code, status: body.status, reason: body.reason }, { code: 401, status: "TOKEN_INVALID", reason: "peer_namespace_mismatch" });
  }
});

test("attack: the caller must be the destination workload's sidecar, in this namespace, asking about this cell", async () => {
  const jwt = await interCellToken();
  const refusedAs = async (res: { code: number; body: Decision & { error?: string } }, why: string) => {
    assert.equal(res.code, 403, why);
    assert.deepEqual({ error: res.body.error, allow: res.body.allow, status: res.body.status }, { error: "unauthorized_client", allow: false, status: "BAD_REQUEST" }, why);
  };
  await refusedAs(await authorize("categories-service", jwt, {}, { as: "products-service" }), "another workload's sidecar");
  await refusedAs(await authorize("categories-service", jwt, {}, { as: { namespace: "reviews", sa: "categories-service" } }), "another namespace");
  const foreignTd = await cell.sts.ca.issue("customer-products", "categories-service", { trustDomain: "evil.example" });
  await refusedAs(await authorize("categories-service", jwt, {}, { as: foreignTd }), "another trust domain");
  // Issue 10 item 9: the destination cell is the STS's own; a different spelling is refused, not evaluated.
  for (const cellName of ["Customer-Products", "", "reviews"]) {
    await refusedAs(await authorize("categories-service", jwt, { destination: { cellName, workload: "categories-service" } }), `cellName ${cellName}`);
  }
  const noId = await authorize("categories-service", jwt, {}, { as: await cell.sts.ca.issue("customer-products", "categories-service", { noSpiffeId: true }) });
  assert.equal(noId.code, 401);
  await assert.rejects(authorize("categories-service", jwt, {}, { as: null }), "no client certificate: no TLS session");
});

test("metrics count decisions by status", async () => {
  const text = await (await cell.sts.fetchAs("prometheus", "/metrics")).text();
  for (const status of ["ALLOWED", "DENIED_BY_POLICY", "POLICY_UNDEFINED", "TOKEN_INVALID", "OPA_UNAVAILABLE", "UNSECURED_PATH", "AUTHORIZATION_DISABLED"]) {
    assert.match(text, new RegExp(`sts_authorize_decisions_total\\{status="${status}"\\} [1-9]`), status);
  }
});

test("OPA killed: readyz turns 503 and every decision is 503 OPA_UNAVAILABLE; a restart recovers", async () => {
  const ready = await cell.sts.fetchAs("kubelet", "/readyz");
  assert.equal(ready.status, 200);
  await ready.arrayBuffer();
  const jwt = await interCellToken();
  await cell.opa.kill();
  const notReady = await cell.sts.fetchAs("kubelet", "/readyz");
  assert.equal(notReady.status, 503);
  assert.deepEqual(await notReady.json(), { ready: false, keys: true, opa: false });
  const { code, body } = await authorize("categories-service", jwt);
  assert.equal(code, 503);
  assert.deepEqual({ allow: body.allow, status: body.status, reason: body.reason }, { allow: false, status: "OPA_UNAVAILABLE", reason: "unreachable" });
  await cell.opa.restart();
  assert.equal((await authorize("categories-service", jwt)).body.status, "ALLOWED");
});

test("the STS logs carry decisions but no token", () => {
  const logs = cell.sts.logs();
  assert.match(logs, /"msg":"authorization decision"/);
  assert.doesNotMatch(logs, /eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/);
  assert.ok(!logs.includes(cell.opa.token), "nor OPA's token");
});
