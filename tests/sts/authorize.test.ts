// POST /authorize against a real OPA: Cellery's input document, and the mapping of every OPA
// answer (true, false, undefined, non-boolean, error, unreachable, hung) to a decision.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCell, startSts, defaultPolicyDir, seedPolicyDir, waitFor, type CellProcesses, type StsProcess } from "../lib/sts-process.ts";
import { createGlobalIssuer, type GlobalIssuer } from "../lib/global-issuer.ts";

const GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt";

// Policies that only these tests need; they sit next to the shipped defaults.
const TEST_POLICY = `package cellery.io

shape_check_allow if {
	input.requestId == "req-42"
	input.source == {"cellInstanceName": "reviews", "workload": "reviews-service"}
	input.destination == {"cellName": "customer-products", "workload": "shape-check", "isExternalToCellery": false}
	input.requestContext == {"host": "customer-products--gateway", "path": "/shape", "method": "GET", "protocol": "HTTP/1.1"}
	input.requestHeaders == {"x-demo": "1"}
	input.authorizationContext.jwtContent.claims.sub == "alice"
	input.authorizationContext.jwtContent.claims.iss == "reviews--sts-service.default"
	object.keys(input.authorizationContext) == {"jwtContent"}
}

raw_check_allow if startswith(input.authorizationContext.jwt, "eyJ")

non_boolean_service_allow := "yes"

conflict_service_allow if input.requestId != ""

conflict_service_allow := false if input.requestId != ""
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
  const globalJWKS = { issuer: idp.issuer, jwks: idp.jwks };
  reviews = await startSts({ cell: "reviews", config: { globalJWKS, enableAuthorization: false } });
  cell = await startCell({
    cell: "customer-products",
    policies: [defaultPolicyDir, testPolicy],
    config: { globalJWKS, trustedPeers: [{ cell: "reviews", jwksUri: reviews.jwksUri }], unsecuredPaths: ["^/healthz$"] },
  });
  assert.equal(await reviews.applyConfig({ trustedPeers: [{ cell: "customer-products", jwksUri: cell.sts.jwksUri }] }), "applied");
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

/** A token that reviews minted for customer-products, as the outbound filter would attach. */
async function interCellToken(opts: { expiresIn?: number; audience?: string } = {}): Promise<string> {
  const user = await idp.mint({ sub: "alice", email: "alice@example.com" }, { expiresIn: opts.expiresIn ?? 300 });
  const form = new URLSearchParams({ grant_type: GRANT, subject_token: user, subject_token_type: JWT_TYPE, audience: opts.audience ?? "customer-products", source_workload: "reviews-service" });
  const res = await fetch(`${reviews.url}/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form });
  const body = (await res.json()) as { access_token: string };
  assert.equal(res.status, 200, JSON.stringify(body));
  return body.access_token;
}

interface Decision {
  allow: boolean;
  status: string;
  ttlSeconds: number;
  reason?: string;
}

async function authorize(workload: string, jwt: string | undefined, extra: Record<string, unknown> = {}): Promise<{ code: number; body: Decision }> {
  const res = await fetch(`${cell.sts.url}/authorize`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      requestId: "req-1",
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
    requestContext: { host: "customer-products--gateway", path: "/shape", method: "GET", protocol: "HTTP/1.1" },
    requestHeaders: { "X-Demo": "1" },
  });
  assert.equal(shape.body.status, "ALLOWED", "the policy's exact-shape checks all held");
  assert.equal((await authorize("raw-check", jwt)).body.status, "POLICY_UNDEFINED", "no raw token by default");
  assert.equal(await cell.sts.applyConfig({ opa: { url: cell.opa.url, includeRawToken: true } }), "applied");
  try {
    assert.equal((await authorize("raw-check", jwt)).body.status, "ALLOWED");
  } finally {
    assert.equal(await cell.sts.applyConfig({ opa: { url: cell.opa.url } }), "applied");
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
    // The source cell comes from the token's cell claim: a global token naming NonExistingCell passes.
    const fromNonExisting = await idp.mint({ sub: "svc", cell: { name: "NonExistingCell", workload: "x" } });
    assert.equal((await authorize("categories-service", fromNonExisting)).body.status, "ALLOWED");
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
  assert.equal((await authorize("../../v1/policies", await interCellToken())).code, 400);
  const res = await fetch(`${cell.sts.url}/authorize`, { method: "POST", headers: { "content-type": "application/json" }, body: "{" });
  assert.equal(res.status, 400);
  assert.equal(((await res.json()) as Decision).status, "BAD_REQUEST");
  const open = await authorize("categories-service", undefined, { requestContext: { path: "/healthz" } });
  assert.deepEqual({ code: open.code, allow: open.body.allow, status: open.body.status }, { code: 200, allow: true, status: "UNSECURED_PATH" });
  const notOpen = await authorize("categories-service", undefined, { requestContext: { path: "/healthz/../admin" } });
  assert.equal(notOpen.code, 401);
});

test("enableAuthorization=false allows valid tokens only, with AUTHORIZATION_DISABLED", async () => {
  assert.equal(await cell.sts.applyConfig({ enableAuthorization: false }), "applied");
  try {
    const ok = await authorize("unknown-service", await interCellToken());
    assert.deepEqual({ allow: ok.body.allow, status: ok.body.status }, { allow: true, status: "AUTHORIZATION_DISABLED" });
    assert.equal((await authorize("unknown-service", "not-a-jwt")).code, 401);
  } finally {
    assert.equal(await cell.sts.applyConfig({ enableAuthorization: true }), "applied");
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
    assert.equal(await cell.sts.applyConfig({ opa: { url: cell.opa.url } }), "applied");
  }
  assert.equal((await authorize("categories-service", await interCellToken())).body.status, "ALLOWED");
});

test("metrics count decisions by status", async () => {
  const text = await (await fetch(`${cell.sts.url}/metrics`)).text();
  for (const status of ["ALLOWED", "DENIED_BY_POLICY", "POLICY_UNDEFINED", "TOKEN_INVALID", "OPA_UNAVAILABLE", "UNSECURED_PATH", "AUTHORIZATION_DISABLED"]) {
    assert.match(text, new RegExp(`sts_authorize_decisions_total\\{status="${status}"\\} [1-9]`), status);
  }
});

test("OPA killed: readyz turns 503 and every decision is 503 OPA_UNAVAILABLE; a restart recovers", async () => {
  const ready = await fetch(`${cell.sts.url}/readyz`);
  assert.equal(ready.status, 200);
  await ready.arrayBuffer();
  const jwt = await interCellToken();
  await cell.opa.kill();
  const notReady = await fetch(`${cell.sts.url}/readyz`);
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
});
