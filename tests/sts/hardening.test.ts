// Issue 10 items 7 and 10 on a running STS: a hot reload cannot silently switch signature
// validation off or open every path; an acknowledged weakening is warned about on every load;
// a group-readable TLS private key stops the start.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chmodSync } from "node:fs";
import { UnsecuredJWT } from "jose";
import { startSts, type StsProcess } from "../lib/sts-process.ts";
import { createGlobalIssuer, type GlobalIssuer } from "../lib/global-issuer.ts";

const GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt";
const APP = "https://shop.cellauth.local";
let sts: StsProcess;
let idp: GlobalIssuer;

before(async () => {
  idp = await createGlobalIssuer();
  sts = await startSts({ cell: "reviews", config: { globalJWKS: { issuer: idp.issuer, jwks: idp.jwks, audiences: [APP] }, unsecuredPaths: ["^/healthz$"] } });
});
after(async () => {
  await sts?.stop();
});

async function exchangeUnsigned() {
  const unsigned = new UnsecuredJWT({ sub: "mallory", aud: APP }).setIssuer(idp.issuer).setExpirationTime("5m").encode();
  const res = await sts.fetchAs("reviews-service", "/token", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: GRANT, subject_token: unsigned, subject_token_type: JWT_TYPE, audience: "reviews" }),
  });
  return res.status;
}

async function authorizeWithoutToken() {
  const res = await sts.fetchAs("reviews-service", "/authorize", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ destination: { cellName: "reviews", workload: "reviews-service" }, requestContext: { path: "/reviews/admin" } }),
  });
  return ((await res.json()) as { status: string }).status;
}

const warnings = () => sts.logEntries().filter((e) => e.level === "warn" && String(e.msg).startsWith("insecure configuration"));

test("a reload that turns signature validation off without acknowledgement is rejected", async () => {
  assert.equal(await exchangeUnsigned(), 400);
  assert.equal(await sts.applyConfig({ enableSignatureValidation: false }), "rejected");
  assert.equal(await exchangeUnsigned(), 400, "an alg:none subject token is still refused");
});

test("unsecuredPaths matching every path is rejected without acknowledgement", async () => {
  assert.equal(await sts.applyConfig({ enableSignatureValidation: true, unsecuredPaths: [".*"] }), "rejected");
  assert.equal(await authorizeWithoutToken(), "TOKEN_INVALID");
});

test("an acknowledged weakening applies, with a warning on every load", async () => {
  const before = warnings().length;
  assert.equal(await sts.applyConfig({ enableSignatureValidation: false, unsecuredPaths: ["^/healthz$"], insecureAcknowledgements: ["enableSignatureValidation"] }), "applied");
  assert.equal(warnings().length, before + 1);
  assert.deepEqual(warnings().at(-1)!.switches, ["enableSignatureValidation"]);
  assert.equal(await sts.applyConfig({ tokenLifetimeSeconds: 120 }), "applied");
  assert.equal(warnings().length, before + 2, "warned again on the next load");
  await sts.restart();
  assert.equal(warnings().length, before + 3, "and at start-up");
  assert.equal(await sts.applyConfig({ enableSignatureValidation: true, insecureAcknowledgements: [] }), "applied");
  assert.equal(warnings().length, before + 3, "no warning once secure again");
  assert.equal(await exchangeUnsigned(), 400);
});

test("a TLS private key readable by group or others stops the start", async () => {
  const tls = sts.config.tls as { keyFile: string };
  await sts.kill();
  chmodSync(tls.keyFile, 0o644);
  await assert.rejects(sts.restart(), /readable by group or others/);
  chmodSync(tls.keyFile, 0o600);
  await sts.restart();
  const res = await sts.fetchAs("kubelet", "/healthz");
  assert.equal(res.status, 200);
  await res.arrayBuffer();
});
