// Faults in the two-cell topology (demo/topology.ts), with real processes only: the STS of
// customer-products killed, its OPA killed, the STS made slower than the filter's timeout by a
// real delaying TCP proxy, and kills and restarts during a bounded load while the seed policy
// denies. The sidecar's authorization cache is OFF (cacheTtlSeconds 0), so every request asks
// the STS and no cached "allow" can mask a fault.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { start, type Topology } from "../../demo/topology.ts";
import { waitUntilServing, cellTokenFor, callCategoriesAs } from "../../demo/scenario.ts";
import { CATEGORIES_UNAVAILABLE } from "../../demo/services.ts";
import { waitFor } from "../lib/sts-process.ts";
import { mtlsFetch } from "../lib/mtls-client.ts";
import { CATEGORIES_HOST } from "../../demo/services.ts";
import { CELL_TOKEN_HEADER } from "../../demo/filter-configs.ts";

const AUTHZ_TIMEOUT_MS = 400;
let top: Topology;
/** A customer-products token minted by STS-reviews for reviews-service, as the outbound filter gets it. */
let cellToken: string;

before(async () => {
  top = await start({ authzCacheTtlSeconds: 0, authzTimeoutMs: AUTHZ_TIMEOUT_MS });
  await waitUntilServing(top);
  cellToken = await cellTokenFor(top, top.svids.reviewsService, "alice");
});

after(async () => {
  await top?.stop();
});

let seq = 0;
/** A call to categories-service's sidecar with the cell token; never throws. */
async function callCategories(requestId = `faults-${++seq}`): Promise<{ status: number; reason?: string; requestId: string }> {
  try {
    const res = await callCategoriesAs(top, top.svids.reviewsService, cellToken, requestId);
    let body: any;
    try {
      body = res.json();
    } catch {
      body = undefined;
    }
    return { status: res.status, reason: typeof body?.status === "string" ? body.status : undefined, requestId };
  } catch {
    return { status: 0, requestId };
  }
}

const cpDecision = (requestId: string) =>
  top.cells["customer-products"].sts.logEntries().find((e) => e.msg === "authorization decision" && e.requestId === requestId)?.status;

test("baseline: the cell token reaches categories-service", async () => {
  const r = await callCategories();
  assert.equal(r.status, 200);
  assert.equal(cpDecision(r.requestId), "ALLOWED");
});

test("what a client makes too long for the STS: an x-request-id is left out, a path is 400 AuthzBadRequest, never a policy denial", async () => {
  // The STS takes a request id of at most 256 characters and a path of at most 8192 (sts/schemas.ts).
  const r = await callCategories("e".repeat(4000));
  assert.equal(r.status, 200, `a long x-request-id: ${r.status} ${r.reason}`);
  const res = await mtlsFetch(`${top.urls.categoriesSidecar}/categories/${"a".repeat(9000)}`, {
    ca: top.ca.caPem,
    client: top.svids.reviewsService,
    headers: { host: CATEGORIES_HOST, [CELL_TOKEN_HEADER]: `Bearer ${cellToken}`, "x-request-id": "faults-long-path" },
    timeoutMs: 10_000,
  });
  assert.equal(res.status, 400);
  assert.equal(res.json().status, "AuthzBadRequest");
});

test("STS down: 503 AuthzUnavailable, nothing allowed; it recovers after a restart", async () => {
  await top.restartSts("customer-products", async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => callCategories()));
    for (const r of results) assert.deepEqual([r.status, r.reason], [503, "AuthzUnavailable"]);
    // Through the gateways the page still renders, without the categories.
    const res = await fetch(`${top.urls.globalGateway}/reviews/camera`, { headers: { authorization: `Bearer ${await top.userToken("alice")}` } });
    assert.equal(res.status, 200);
    const page = await res.json();
    assert.equal(page.categories, CATEGORIES_UNAVAILABLE);
    assert.deepEqual([page.categoriesCall.status, page.categoriesCall.reason], [503, "AuthzUnavailable"]);
  });
  assert.equal((await callCategories()).status, 200);
});

test("OPA down: the STS answers OPA_UNAVAILABLE and the filter denies with 503", async () => {
  await top.restartOpa("customer-products", async () => {
    const r = await callCategories();
    assert.deepEqual([r.status, r.reason], [503, "AuthzUnavailable"]);
    assert.equal(cpDecision(r.requestId), "OPA_UNAVAILABLE");
  });
  const r = await callCategories();
  assert.equal(r.status, 200);
  assert.equal(cpDecision(r.requestId), "ALLOWED");
});

test("an STS slower than the filter's timeout gives 503, though the STS would have allowed", async () => {
  const proxy = top.customerProductsStsProxy;
  proxy.setDelay(AUTHZ_TIMEOUT_MS + 800);
  try {
    const r = await callCategories();
    assert.deepEqual([r.status, r.reason], [503, "AuthzUnavailable"]);
    // The real STS did answer (allow), just too late for the filter.
    assert.equal(await waitFor("the late STS decision", () => cpDecision(r.requestId), 5000), "ALLOWED");
  } finally {
    proxy.setDelay(0);
  }
  assert.equal((await callCategories()).status, 200);
});

test("kills and restarts of the STS and OPA under load never let a denied request through", async () => {
  await top.applySeedPolicy();
  const first = await callCategories();
  assert.deepEqual([first.status, first.reason], [403, "AuthzDenied"]);

  const TOTAL = 2000;
  const CONCURRENCY = 8;
  const deadline = Date.now() + 60_000;
  const counts = new Map<string, number>();
  let done = 0;
  let sent = 0;
  let unavailableSeen = 0;
  const worker = async () => {
    while (sent < TOTAL && Date.now() < deadline) {
      sent++;
      const r = await callCategories(`load-${sent}`);
      const key = `${r.status} ${r.reason ?? "-"}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      if (r.status === 503) unavailableSeen++;
      done++;
    }
  };
  // While the load runs: kill the STS, then OPA; each stays down until the load has seen it down.
  const chaos = async () => {
    const seenAnother = async () => {
      const before = unavailableSeen;
      await waitFor("a request to meet the outage", () => unavailableSeen > before || done >= TOTAL || undefined, 10_000, 10);
    };
    await waitFor("load to start", () => done >= 200 || undefined, 30_000, 10);
    await top.restartSts("customer-products", seenAnother);
    await waitFor("more load", () => done >= 1000 || undefined, 30_000, 10);
    await top.restartOpa("customer-products", seenAnother);
  };
  await Promise.all([chaos(), ...Array.from({ length: CONCURRENCY }, worker)]);

  const summary = JSON.stringify(Object.fromEntries(counts));
  const allowed = [...counts].filter(([k]) => k.startsWith("2")).reduce((n, [, v]) => n + v, 0);
  assert.equal(allowed, 0, `a denied request was allowed: ${summary}`);
  for (const key of counts.keys()) assert.ok(key === "403 AuthzDenied" || key === "503 AuthzUnavailable", `unexpected outcome ${key}: ${summary}`);
  assert.ok((counts.get("503 AuthzUnavailable") ?? 0) > 0, `the outages were never observed: ${summary}`);
  assert.ok((counts.get("403 AuthzDenied") ?? 0) > 0, `the policy was never observed: ${summary}`);
  assert.ok(done >= 1000, `too few requests ran before the deadline: ${done}`);
  // After the faults, the policy still decides.
  const last = await callCategories();
  assert.deepEqual([last.status, last.reason], [403, "AuthzDenied"]);
  console.log(`# load: ${done} requests, ${summary}`);
});
