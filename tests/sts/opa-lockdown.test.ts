// The OPA the project starts for an STS (tests/lib/sts-process.ts startOpa: what the demo, the
// e2e tests and the bench run) is locked down: token authentication plus a system.authz policy
// (sts/opa-auth.ts). A local process without the STS's token can no longer PUT a policy or data
// that turns every decision into "allow", nor read OPA's policies, config, status or metrics;
// the STS's own decision queries still work; and an STS with the wrong token (or none) fails
// closed with 503 OPA_UNAVAILABLE.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCell, type CellProcesses } from "../lib/sts-process.ts";
import { createGlobalIssuer, type GlobalIssuer } from "../lib/global-issuer.ts";
import { newOpaToken } from "../../sts/opa-auth.ts";

const GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt";
const APP = "https://shop.cellauth.local";
const CATS = "spiffe://cluster.local/ns/customer-products/sa/categories-service";
// What an attacker would install: every workload's rule true, whatever the input.
const ALLOW_ALL = `package cellery.io

default unknown_service_allow := true
`;

let idp: GlobalIssuer;
let cell: CellProcesses;
let scratch: string;

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), "cellauth-opa-lockdown-"));
  idp = await createGlobalIssuer();
  cell = await startCell({ cell: "customer-products", namespace: "customer-products", config: { globalJWKS: { issuer: idp.issuer, jwks: idp.jwks, audiences: [APP] } } });
});
after(async () => {
  await cell?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/** A customer-products cell token held by categories-service (exchanged from an edge token). */
async function cellToken(): Promise<string> {
  const user = await idp.mint({ sub: "alice", aud: APP });
  const form = new URLSearchParams({ grant_type: GRANT, subject_token: user, subject_token_type: JWT_TYPE, audience: "customer-products" });
  const res = await cell.sts.fetchAs("categories-service", "/token", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form });
  const body = (await res.json()) as { access_token: string };
  assert.equal(res.status, 200, JSON.stringify(body));
  return body.access_token;
}

async function authorize(workload: string): Promise<{ code: number; body: { allow: boolean; status: string; reason?: string } }> {
  const res = await cell.sts.fetchAs(workload, "/authorize", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      source: { principal: CATS },
      destination: { cellName: "customer-products", workload },
      requestContext: { path: "/x", method: "GET" },
      jwt: await cellToken(),
    }),
  });
  return { code: res.status, body: (await res.json()) as { allow: boolean; status: string; reason?: string } };
}

/** A request straight to OPA, as any local process could make it. */
async function opa(method: string, path: string, opts: { body?: string; token?: string } = {}): Promise<number> {
  const res = await fetch(`${cell.opa.url}${path}`, {
    method,
    headers: { "content-type": "application/json", ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
    body: opts.body,
  });
  await res.arrayBuffer();
  return res.status;
}

test("attack: without the token, OPA refuses a policy or data write that would allow everything (401), and the decisions stay as they were", async () => {
  assert.equal((await authorize("unknown-service")).body.status, "POLICY_UNDEFINED");
  assert.equal(await opa("PUT", "/v1/policies/x", { body: ALLOW_ALL }), 401, "PUT /v1/policies");
  assert.equal(await opa("PUT", "/v1/data/cellery/io/unknown_service_allow", { body: "true" }), 401, "PUT /v1/data");
  assert.equal(await opa("PATCH", "/v1/data", { body: JSON.stringify([{ op: "add", path: "/x", value: true }]) }), 401, "PATCH /v1/data");
  assert.equal(await opa("DELETE", "/v1/policies/cellery.rego"), 401, "DELETE /v1/policies");
  // Even with the STS's token: it is good for decision queries only.
  assert.equal(await opa("PUT", "/v1/policies/x", { body: ALLOW_ALL, token: cell.opa.token }), 401, "PUT /v1/policies with the token");
  assert.equal(await opa("PUT", "/v1/data/cellery/io/unknown_service_allow", { body: "true", token: cell.opa.token }), 401, "PUT /v1/data with the token");
  const { code, body } = await authorize("unknown-service");
  assert.deepEqual({ code, allow: body.allow, status: body.status }, { code: 200, allow: false, status: "POLICY_UNDEFINED" });
  assert.equal((await authorize("categories-service")).body.status, "ALLOWED", "the STS's decisions still work");
});

test("without the token, a decision query is refused; with it, only queries under the STS's prefix are answered", async () => {
  const input = JSON.stringify({ input: {} });
  assert.equal(await opa("POST", "/v1/data/cellery/io/categories_service_allow", { body: input }), 401, "no token");
  assert.equal(await opa("POST", "/v1/data/cellery/io/categories_service_allow", { body: input, token: newOpaToken() }), 401, "another token");
  const ok = await cell.opa.query("cellery/io/categories_service_allow", {});
  assert.deepEqual(ok, { kind: "result", value: true });
  for (const path of ["/v1/data/cellery/io", "/v1/data", "/v1/data/system/authz/allow", "/v1/query", "/v1/compile", "/v0/data/cellery/io/categories_service_allow"]) {
    assert.equal(await opa("POST", path, { body: input, token: cell.opa.token }), 401, `POST ${path}`);
  }
  assert.equal(await opa("GET", "/v1/data/cellery/io/categories_service_allow", { token: cell.opa.token }), 401, "GET of a decision");
});

test("OPA's policies, config, status and metrics are not served, with or without the token; /health is, without one", async () => {
  for (const path of ["/v1/policies", "/v1/policies/cellery.rego", "/v1/config", "/v1/status", "/metrics", "/v1/data", "/health/live"]) {
    assert.equal(await opa("GET", path), 401, `GET ${path}`);
    assert.equal(await opa("GET", path, { token: cell.opa.token }), 401, `GET ${path} with the token`);
  }
  assert.equal(await opa("GET", "/health"), 200);
  assert.equal(await opa("GET", "/health?bundles"), 200);
  const ready = await cell.sts.fetchAs("kubelet", "/readyz");
  assert.equal(ready.status, 200, "the STS's readiness probe: OPA answers, and takes the STS's token");
  await ready.arrayBuffer();
});

test("an STS with the wrong OPA token, or none, fails closed: 503 OPA_UNAVAILABLE", async () => {
  const wrong = join(scratch, "wrong-token");
  writeFileSync(wrong, `${newOpaToken()}\n`);
  try {
    for (const opaConfig of [{ url: cell.opa.url, tokenFile: wrong }, { url: cell.opa.url }]) {
      assert.equal(await cell.sts.applyConfig({ opa: opaConfig }), "applied");
      const { code, body } = await authorize("categories-service");
      assert.deepEqual({ code, allow: body.allow, status: body.status, reason: body.reason }, { code: 503, allow: false, status: "OPA_UNAVAILABLE", reason: "HTTP 401" }, JSON.stringify(opaConfig));
      // Not ready either: an STS that can only deny must not be sent traffic.
      const ready = await cell.sts.fetchAs("kubelet", "/readyz");
      assert.deepEqual([ready.status, ((await ready.json()) as { opa: boolean }).opa], [503, false], `readyz with ${JSON.stringify(opaConfig)}`);
    }
  } finally {
    assert.equal(await cell.sts.applyConfig({ opa: cell.opa.stsConfig }), "applied");
  }
  assert.equal((await authorize("categories-service")).body.status, "ALLOWED");
  const ready = await cell.sts.fetchAs("kubelet", "/readyz");
  assert.equal(ready.status, 200);
  await ready.arrayBuffer();
});

test("a config whose opa.tokenFile cannot be read is rejected on reload, naming the field; the old token stays in use", async () => {
  assert.equal(await cell.sts.applyConfig({ opa: { url: cell.opa.url, tokenFile: join(scratch, "absent") } }), "rejected");
  const rejected = cell.sts.logEntries().filter((e) => String(e.msg).startsWith("config reload rejected")).at(-1);
  assert.match(String(rejected?.reason), /^opa\.tokenFile: cannot read /);
  assert.equal((await authorize("categories-service")).body.status, "ALLOWED");
  assert.equal(await cell.sts.applyConfig({ opa: cell.opa.stsConfig }), "applied");
});

test("OPA's token appears in neither the STS's logs nor OPA's", () => {
  assert.ok(!cell.sts.logs().includes(cell.opa.token));
  assert.ok(!cell.opa.output().includes(cell.opa.token));
});
