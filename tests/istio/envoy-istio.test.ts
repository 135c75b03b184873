// "Istio-shaped" end to end: real Envoy loads build/cellauth.wasm the way istiod delivers the
// rendered inbound WasmPlugin of the reviews cell (see istiod-shape.ts), with the rendered
// pluginConfig unchanged, Istio's cluster names included: the test defines static clusters
// under those names that point at a real STS (with real OPA) and a stand-in peer JWKS. As in a
// mesh, the listener takes mutual TLS with SPIFFE certificates (the caller is the cell gateway) and
// the sidecar reaches its STS over mutual TLS as reviews-service.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { parseCell } from "../../cli/cell.ts";
import { readFileSync } from "node:fs";
import { renderCell } from "../../cli/render.ts";
import { ensureFilterBuilt } from "../lib/build-filter.ts";
import { startEnvoy, type Envoy, type ClusterSpec } from "../lib/envoy.ts";
import { createGlobalIssuer, type GlobalIssuer } from "../lib/global-issuer.ts";
import { startJwksServer, type JwksServer } from "../lib/jwks-server.ts";
import { jwksOf, makeKey } from "../lib/keys.ts";
import { startCell, waitFor, type CellProcesses } from "../lib/sts-process.ts";
import { startUpstream, type Upstream } from "../lib/upstream.ts";
import { mtlsFetch } from "../lib/mtls-client.ts";
import type { Svid } from "../lib/spiffe-ca.ts";
import { istiodWasmFilter, type WasmPluginObject } from "./istiod-shape.ts";

const root = resolve(import.meta.dirname, "../..");
const cellFile = join(root, "istio/examples/reviews/cell.yaml");

let caPem = "";
let gateway: Svid;

/** A request to the sidecar's mTLS listener as the cell gateway. */
async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: string }> {
  const r = await mtlsFetch(url, { ca: caPem, client: gateway, headers, timeoutMs: 5000 });
  const h = new Headers();
  for (const [k, v] of Object.entries(r.headers)) if (typeof v === "string") h.set(k, v);
  return { status: r.status, headers: h, body: r.text };
}

describe("Istio-shaped Envoy: the rendered inbound WasmPlugin of the reviews cell", () => {
  let cellProcs: CellProcesses | undefined;
  let peerJwks: JwksServer | undefined;
  let upstream: Upstream | undefined;
  let envoy: Envoy | undefined;
  let idp: GlobalIssuer;
  let plugin: WasmPluginObject;
  let cellToken: string;

  before(async () => {
    const cell = parseCell(cellFile, readFileSync(cellFile, "utf8"));
    const rendered = renderCell(cell, { url: cell.wasm.url, sha256: cell.wasm.sha256! });
    plugin = rendered.find((r) => r.file === "wasmplugin-reviews-service-cellauth-inbound")!.object as unknown as WasmPluginObject;
    assert.ok(plugin, "rendered inbound plugin");
    const config = plugin.spec.pluginConfig as { jwtRules: { issuer: string; remoteJwks: { cluster: string } }[]; authorization: { cluster: string } };

    idp = await createGlobalIssuer(cell.globalIssuer!.issuer);
    const audiences = cell.globalIssuer!.audiences;
    cellProcs = await startCell({ cell: cell.name, namespace: cell.namespace, config: { globalJWKS: { issuer: idp.issuer, jwks: idp.jwks, audiences } } });
    const sts = cellProcs.sts;
    caPem = sts.ca.caPem;
    gateway = await sts.workload(`${cell.name}--gateway`);
    const sidecar = await sts.workload("reviews-service");
    peerJwks = await startJwksServer(jwksOf(await makeKey("ES256", "peer-key")));
    upstream = await startUpstream();

    // Istio's cluster names, exactly as rendered, resolved to local processes.
    const ownCluster = config.authorization.cluster;
    assert.equal(ownCluster, "outbound|8080||reviews--sts-service.reviews.svc.cluster.local");
    const clusters: Record<string, number | ClusterSpec> = {
      upstream: upstream.port,
      [ownCluster]: { port: sts.port, tls: { certFile: sidecar.certFile, keyFile: sidecar.keyFile, caFile: sts.ca.caFile, serverSpiffeId: sts.svid.spiffeId } },
    };
    for (const rule of config.jwtRules) {
      if (rule.remoteJwks.cluster !== ownCluster) clusters[rule.remoteJwks.cluster] = peerJwks.port;
    }
    envoy = await startEnvoy({
      listeners: [{
        name: "inbound",
        tls: { certFile: sidecar.certFile, keyFile: sidecar.keyFile, caFile: sts.ca.caFile },
        filters: [{ raw: istiodWasmFilter(plugin, ensureFilterBuilt()) }],
      }],
      clusters,
    });

    // A real cell token: the reviews STS exchanges an edge token for one with aud reviews.reviews.
    // The cell gateway asks (over mTLS, as itself); the token is bound to its SPIFFE ID.
    const edge = await idp.mint({ sub: "alice", aud: audiences[0] });
    const r = await sts.fetchAs(gateway, "/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
        subject_token: edge,
        subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
        audience: "reviews",
      }),
    });
    assert.equal(r.status, 200, `STS token exchange: ${await r.clone().text()}`);
    cellToken = ((await r.json()) as { access_token: string }).access_token;
  });

  after(async () => {
    await envoy?.stop();
    await upstream?.close();
    await peerJwks?.stop();
    await cellProcs?.stop();
  });

  it("loads with istiod's shape: root_id = pluginName, no vm_id, env vars, pluginConfig as a StringValue", () => {
    const filter = (envoy!.bootstrap as any).static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0];
    const cfg = filter.typed_config.config;
    assert.equal(filter.name, "reviews.reviews-service-cellauth-inbound");
    assert.equal(cfg.root_id, "cellauth");
    assert.equal(cfg.vm_config.vm_id, undefined);
    assert.equal(typeof cfg.configuration.value, "string");
    assert.deepEqual(JSON.parse(cfg.configuration.value), plugin.spec.pluginConfig);
    assert.ok(cfg.vm_config.environment_variables.key_values.ISTIO_META_WASM_PLUGIN_RESOURCE_VERSION);
    assert.equal(cfg.fail_open, false);
  });

  it("a valid cell token reaches the upstream", async () => {
    // Bounded wait for the first background JWKS fetch from the STS cluster.
    const ok = await waitFor("a 200 through the filter", async () => {
      const r = await get(envoy!.url("inbound", "/reviews/1"), { "cellery-authorization": `Bearer ${cellToken}` });
      return r.status === 200 ? r : r.status === 503 || r.status === 401 ? undefined : r;
    }, 15_000, 200);
    assert.equal(ok.status, 200, ok.body);
    const seen = upstream!.seen.filter((s) => s.path === "/reviews/1");
    assert.ok(seen.length >= 1, "the upstream saw the request");
    // The decision came from the STS (and OPA) for the workload named in the rendered config.
    const decisions = cellProcs!.sts.logEntries().filter((e) => e.msg === "authorization decision");
    assert.ok(decisions.some((e) => e.allow === true && e.workload === "reviews-service"), "an STS decision for reviews-service");
  });

  it("no token: 401 with WWW-Authenticate Bearer realm and no error, and the upstream is not reached", async () => {
    const before = upstream!.seen.length;
    const r = await get(envoy!.url("inbound", "/reviews/2"));
    assert.equal(r.status, 401);
    const www = r.headers.get("www-authenticate") ?? "";
    assert.match(www, /^Bearer realm="reviews"/);
    assert.doesNotMatch(www, /error=/);
    assert.equal(upstream!.seen.length, before);
  });

  it("an edge token (not minted for the cell) in cellery-authorization: 401 invalid_token", async () => {
    const edge = await idp.mint({ sub: "mallory" });
    const r = await get(envoy!.url("inbound", "/reviews/3"), { "cellery-authorization": `Bearer ${edge}` });
    assert.equal(r.status, 401);
    assert.match(r.headers.get("www-authenticate") ?? "", /error="invalid_token"/);
  });

  it("the rendered unsecured path needs no token", async () => {
    const r = await get(envoy!.url("inbound", "/reviews/health"));
    assert.equal(r.status, 200, r.body);
    assert.ok(upstream!.seen.some((s) => s.path === "/reviews/health"));
  });
});
