// Config hot reload on a running STS process: a good change applies without a restart; a bad
// one (broken JSON, schema violation, a restart-only field) is logged and the old config stays.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { closeSync, openSync, writeFileSync, writeSync } from "node:fs";
import { startSts, waitFor, type StsProcess } from "../lib/sts-process.ts";

const GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
let sts: StsProcess;

before(async () => {
  sts = await startSts({ cell: "reviews", config: { enableAuthorization: false, insecureAcknowledgements: ["enableAuthorization"], allowTokenWithoutSubject: true } });
});
after(async () => {
  await sts?.stop();
});

/** A workload token (no user context): its lifetime shows which config is in force. */
async function workloadToken(): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await sts.fetchAs("reviews-service", "/token", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: GRANT, audience: "reviews" }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function rejectedReasons(): string[] {
  return sts.logEntries().filter((e) => String(e.msg).startsWith("config reload rejected")).map((e) => String(e.reason));
}

test("a workload token carries sub <cell>/<workload> and the configured lifetime", async () => {
  const { status, body } = await workloadToken();
  assert.equal(status, 200);
  assert.equal(body.expires_in, 300);
  const claims = JSON.parse(Buffer.from((body.access_token as string).split(".")[1], "base64url").toString());
  assert.equal(claims.sub, "reviews/reviews-service");
  assert.deepEqual(claims.cnf, { spiffe_id: "spiffe://cluster.local/ns/default/sa/reviews-service" });
  assert.equal(claims.act, undefined, "no delegation without a subject token");
});

test("a good reload applies: lifetime and flags change without a restart", async () => {
  assert.equal(await sts.applyConfig({ tokenLifetimeSeconds: 60 }), "applied");
  assert.equal((await workloadToken()).body.expires_in, 60);
  assert.equal(await sts.applyConfig({ allowTokenWithoutSubject: false }), "applied");
  const refused = await workloadToken();
  assert.equal(refused.status, 400);
  assert.equal(refused.body.error, "invalid_request");
  assert.equal(await sts.applyConfig({ allowTokenWithoutSubject: true }), "applied");
});

test("bad reloads are rejected with a logged reason and the old config stays", async () => {
  const before = rejectedReasons().length;
  await new Promise((r) => setTimeout(r, 20));
  writeFileSync(sts.configPath, "{ this is not json");
  await waitFor("rejection of broken JSON", () => (rejectedReasons().length > before ? true : undefined));
  assert.match(rejectedReasons().at(-1)!, /not valid JSON/);
  assert.equal((await workloadToken()).body.expires_in, 60, "old config still in force");

  assert.equal(await sts.applyConfig({ tokenLifetimeSeconds: -5 }), "rejected");
  assert.match(rejectedReasons().at(-1)!, /tokenLifetimeSeconds/);
  assert.equal((await workloadToken()).body.expires_in, 60);

  assert.equal(await sts.applyConfig({ tokenLifetimeSeconds: 90, keysDir: "/tmp/elsewhere" }), "rejected");
  assert.match(rejectedReasons().at(-1)!, /need a restart: keysDir/);
  assert.equal((await workloadToken()).body.expires_in, 60);

  const tls = sts.config.tls;
  assert.equal(await sts.applyConfig({ tokenLifetimeSeconds: 90, keysDir: sts.keysDir, peerIdentity: "xfcc", tls: undefined }), "rejected");
  assert.match(rejectedReasons().at(-1)!, /need a restart: tls, peerIdentity/);
  assert.equal((await workloadToken()).body.expires_in, 60);

  assert.equal(await sts.applyConfig({ tokenLifetimeSeconds: 90, keysDir: sts.keysDir, peerIdentity: "tls", tls }), "applied");
  assert.equal((await workloadToken()).body.expires_in, 90);
  const metrics = await (await sts.fetchAs("prometheus", "/metrics")).text();
  assert.match(metrics, /sts_config_reloads_rejected_total 4/);
});

test("a config written slowly (truncate, pause, rest) is judged only once it settles", async () => {
  // Most writers truncate first; a poll that lands mid-write must not reject a good config.
  const outcomes = () =>
    sts.logEntries().filter((e) => e.msg === "config reloaded" || String(e.msg).startsWith("config reload rejected")).length;
  const rejectedBefore = rejectedReasons().length;
  for (const lifetime of [70, 80, 75, 85, 90]) {
    const seen = outcomes();
    const text = JSON.stringify({ ...sts.config, tokenLifetimeSeconds: lifetime }, null, 2);
    const fd = openSync(sts.configPath, "w"); // truncates: the file is empty now
    await new Promise((r) => setTimeout(r, 60));
    writeSync(fd, text.slice(0, text.length >> 1));
    await new Promise((r) => setTimeout(r, 60));
    writeSync(fd, text.slice(text.length >> 1));
    closeSync(fd);
    await waitFor("reload of the slow write", () => (outcomes() > seen ? true : undefined));
    assert.equal((await workloadToken()).body.expires_in, lifetime);
  }
  assert.deepEqual(rejectedReasons().slice(rejectedBefore), [], "no half-written state was judged");
});

test("the process keeps serving: health endpoints answer", async () => {
  for (const path of ["/healthz", "/readyz"]) {
    const res = await sts.fetchAs("kubelet", path);
    assert.equal(res.status, 200, path);
    await res.arrayBuffer();
  }
  const res = await sts.fetchAs("kubelet", "/nope");
  assert.equal(res.status, 404);
  await res.arrayBuffer();
  const wrongMethod = await sts.fetchAs("reviews-service", "/token");
  assert.equal(wrongMethod.status, 405);
  await wrongMethod.arrayBuffer();
});

test("a killed STS restarts on the same port with the same keys", async () => {
  const jwks = await (await sts.fetchAs("peer", "/.well-known/jwks.json")).json();
  await sts.kill();
  await assert.rejects(sts.fetchAs("kubelet", "/healthz"));
  await sts.restart();
  assert.deepEqual(await (await sts.fetchAs("peer", "/.well-known/jwks.json")).json(), jwks);
  assert.equal((await workloadToken()).body.expires_in, 90, "the last applied config is what restarts");
});
