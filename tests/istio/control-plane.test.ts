// Istio for real (issue 13): a real kube-apiserver (on kine) accepts every rendered object of
// both example cells, and a real istiod pushes the rendered cell gateway's WasmPlugin to a real
// Envoy through ECDS, including a live pluginConfig change. The binaries come from
// scripts/install-k8s.sh; without them this file skips and says why.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadCell } from "../../cli/cell.ts";
import { renderCell } from "../../cli/render.ts";
import { ensureFilterBuilt } from "../lib/build-filter.ts";
import { envoyBin } from "../lib/envoy.ts";
import { createGlobalIssuer, type GlobalIssuer } from "../lib/global-issuer.ts";
import { startJwksServer, type JwksServer } from "../lib/jwks-server.ts";
import { K8sError, k8sSkipReason, startControlPlane, type ControlPlane, type K8sObject } from "../lib/k8s.ts";
import { freePort } from "../lib/ports.ts";
import { startUpstream, type Upstream } from "../lib/upstream.ts";

const root = resolve(import.meta.dirname, "../..");
const cells = ["reviews", "customer-products"];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Answer { status: number; body: string; headers: Headers }
async function fetchAnswer(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const r = await fetch(url, { headers, signal: AbortSignal.timeout(5000) });
  return { status: r.status, body: await r.text(), headers: r.headers };
}
/** Polls `url` until `want` holds (istiod's push, Envoy's ECDS load and JWKS fetch take a moment);
 *  otherwise fails with the last answer and what `diagnose` gathers. */
async function pollUntil(what: string, url: string, headers: Record<string, string>, want: (r: Answer) => boolean,
  diagnose: () => Promise<string>, timeoutMs = 60_000): Promise<Answer> {
  const deadline = Date.now() + timeoutMs;
  let last: Answer | string = "no answer";
  while (Date.now() < deadline) {
    last = await fetchAnswer(url, headers).catch((e) => String(e));
    if (typeof last !== "string" && want(last)) return last;
    await sleep(250);
  }
  assert.fail(`${what}: last answer ${typeof last === "string" ? last : `${last.status} ${last.body}`}\n${await diagnose()}`);
}

function rendered(cell: string): K8sObject[] {
  const c = loadCell(join(root, "istio/examples", cell, "cell.yaml"));
  return renderCell(c, { url: c.wasm.url, sha256: c.wasm.sha256! }).map((r) => r.object as unknown as K8sObject);
}

const skipApi = k8sSkipReason({ crds: true });
const skipIstiod = skipApi || k8sSkipReason({ istiod: true });
if (skipApi) console.log(`# SKIP tests/istio/control-plane.test.ts: ${skipApi}`);
else if (skipIstiod) console.log(`# SKIP the istiod part of tests/istio/control-plane.test.ts: ${skipIstiod}`);

// A skipped suite counts no test: this one makes the skip show in the totals too.
if (skipApi) it("a real Kubernetes API server and istiod (needs scripts/install-k8s.sh)", { skip: skipApi }, () => {});

describe("a real Kubernetes API server and istiod", { skip: skipApi }, () => {
  let cp: ControlPlane;
  before(async () => {
    const t0 = Date.now();
    cp = await startControlPlane({ crds: true, istiod: !skipIstiod });
    console.log(`# control plane (kine, kube-apiserver, CRDs${skipIstiod ? "" : ", istiod"}) up in ${Date.now() - t0} ms: ${JSON.stringify(cp.phases)}`);
  });
  after(async () => {
    await cp?.stop();
  });

  describe("every rendered object of both example cells is accepted", () => {
    for (const cell of cells) {
      it(`${cell}: server-side apply with strict field validation, then read back`, async () => {
        const objs = rendered(cell);
        assert.equal(objs[0].kind, "Namespace", "the namespace comes first");
        for (const o of objs) {
          try {
            await cp.client.apply(o);
          } catch (e) {
            assert.fail(`${o.kind} ${o.metadata.name} refused: ${(e as Error).message}`);
          }
        }
        for (const o of objs) {
          const got = await cp.client.get(o) as any;
          assert.ok(got, `${o.kind} ${o.metadata.name} is stored`);
          assert.equal(got.metadata.labels?.["cellauth.dev/cell"], cell);
          if ("spec" in o) assert.deepEqual(pick(got.spec, o.spec), o.spec, `${o.kind} ${o.metadata.name}: the stored spec differs (a field was dropped)`);
          if ("data" in o) assert.deepEqual(got.data, o.data);
        }
        const kinds = new Set(objs.map((o) => o.kind));
        for (const k of ["WasmPlugin", "AuthorizationPolicy", "PeerAuthentication", "Sidecar", "ServiceEntry", "DestinationRule", "Deployment", "ServiceAccount", "NetworkPolicy"]) {
          assert.ok(kinds.has(k), `${cell} renders a ${k}`);
        }
      });
    }

    it("the validation is live: the server refuses what the schemas forbid (dry run)", async () => {
      const plugin = rendered("reviews").find((o) => o.kind === "WasmPlugin")! as any;
      const bad: [string, K8sObject, RegExp][] = [
        ["an enum value outside the CRD schema", { ...plugin, spec: { ...plugin.spec, failStrategy: "FAIL_SOMETIMES" } }, /failStrategy/],
        ["an unknown field", { ...plugin, spec: { ...plugin.spec, imagePullPolicee: "Always" } }, /imagePullPolicee/],
        ["a bad Kubernetes type", { apiVersion: "v1", kind: "Service", metadata: { name: "x", namespace: "reviews" }, spec: { ports: [{ port: 70000 }] } }, /port/],
      ];
      for (const [what, obj, re] of bad) {
        await assert.rejects(cp.client.apply(obj, { dryRun: true }), (e: unknown) => e instanceof K8sError && e.status >= 400 && re.test(e.message), what);
      }
    });
  });

  describe("istiod pushes the rendered cell gateway's WasmPlugin to a real Envoy", { skip: skipIstiod }, () => {
    let idp: GlobalIssuer;
    let jwks: JwksServer;
    let sts: { server: Server; port: number; requests: URLSearchParams[] };
    let envoy: { child: ChildProcess; dir: string; adminPort: number; log: () => string } | undefined;
    let gwPort: number;
    let plugin: any;
    let edgeToken: string;
    const audience = "https://shop.cellauth.example";

    before(async () => {
      const wasm = ensureFilterBuilt();
      idp = await createGlobalIssuer("https://idp.cellauth.example");
      jwks = await startJwksServer(idp.jwks);
      sts = await startStubSts();
      gwPort = await freePort();
      edgeToken = await idp.mint({ sub: "alice", aud: audience });

      const objs = rendered("reviews");
      // The rendered gateway plugin, its code from build/ by file:// (no registry, no agent).
      plugin = structuredClone(objs.find((o) => o.kind === "WasmPlugin" && (o as any).spec.pluginConfig.mode === "gateway"));
      plugin.spec.url = `file://${wasm}`;
      plugin.spec.sha256 = createHash("sha256").update(readFileSync(wasm)).digest("hex");
      assert.deepEqual(plugin.spec.pluginConfig.jwtRules[0].audiences, [audience]);
      for (const o of objs) {
        // The IdP's rendered ServiceEntry resolves a public name by DNS and originates TLS: here
        // the same host is a static loopback endpoint in plain HTTP (below).
        if (o.kind === "DestinationRule" || o.kind === "ServiceEntry") await cp.client.delete(o);
        else await cp.client.apply(o.kind === "WasmPlugin" && o.metadata.name === plugin.metadata.name ? plugin : o);
      }
      for (const o of testPlumbing(jwks.port, sts.port, gwPort)) await cp.client.apply(o);
      envoy = await startRouterEnvoy(cp.istiod!.grpcPort);
    });

    after(async () => {
      if (envoy) {
        envoy.child.kill("SIGTERM");
        await Promise.race([new Promise((r) => envoy!.child.once("exit", r)), sleep(5000)]);
        envoy.child.kill("SIGKILL");
        rmSync(envoy.dir, { recursive: true, force: true });
      }
      await jwks?.stop();
      await new Promise((r) => sts?.server.close(r));
    });

    const get = (headers: Record<string, string> = {}) => fetchAnswer(`http://127.0.0.1:${gwPort}/reviews/1`, headers);
    const until = (what: string, want: (r: Answer) => boolean, headers: Record<string, string> = {}, timeoutMs = 60_000) =>
      pollUntil(what, `http://127.0.0.1:${gwPort}/reviews/1`, headers, want, async () =>
        `--- envoy ---\n${envoy?.log().slice(-3000)}\n--- istiod ---\n${cp.istiod!.log().split("\n").filter((l) => /warn|error|nack|reject/i.test(l)).slice(-30).join("\n")}`, timeoutMs);

    it("a request without a token: 401 with cellauth's JSON body (the plugin arrived by ECDS)", async () => {
      const r = await until("401 from cellauth", (x) => x.status === 401 && /json/.test(x.headers.get("content-type") ?? ""));
      assert.match(r.headers.get("www-authenticate") ?? "", /^Bearer realm="reviews"/);
      assert.doesNotThrow(() => JSON.parse(r.body), r.body);
      const dump = await (await fetch(`http://127.0.0.1:${envoy!.adminPort}/config_dump?resource=ecds_filters`)).text().catch(() => "");
      assert.match(dump, /reviews\.reviews-cellauth-gateway/, "the filter came through ECDS from istiod");
    });

    it("a valid edge token: 200, after the exchange at the (stub) STS through istiod's cluster", async () => {
      const r = await until("200 with a valid token", (x) => x.status === 200, { authorization: `Bearer ${edgeToken}` });
      assert.equal(r.body, "reviews gateway ok");
      const ex = sts.requests.at(-1);
      assert.ok(ex, "the STS was asked for a cell token");
      assert.equal(ex.get("audience"), "reviews");
      assert.equal(ex.get("subject_token"), edgeToken);
    });

    it("a tampered token: 401", async () => {
      const [h, p, s] = edgeToken.split(".");
      const r = await get({ authorization: `Bearer ${h}.${p}.${s.slice(0, -4)}AAAA` });
      assert.equal(r.status, 401, r.body);
    });

    it("the rendered hardened-HTTP EnvoyFilter reaches the gateway: underscore headers and encoded slashes are refused", async () => {
      // Before the filter runs: Envoy's own connection manager answers 400.
      const underscore = await until("400 for an underscore header", (x) => x.status === 400, { authorization: `Bearer ${edgeToken}`, x_cellery_auth_subject: "admin" });
      assert.equal(underscore.status, 400);
      const r = await fetch(`http://127.0.0.1:${gwPort}/reviews%2F..%2Fadmin`, { headers: { authorization: `Bearer ${edgeToken}` }, signal: AbortSignal.timeout(5000) });
      assert.equal(r.status, 400);
      const dump = await (await fetch(`http://127.0.0.1:${envoy!.adminPort}/config_dump?resource=dynamic_listeners`)).text();
      for (const field of ['"normalize_path": true', '"merge_slashes": true', '"path_with_escaped_slashes_action": "REJECT_REQUEST"', '"headers_with_underscores_action": "REJECT_REQUEST"']) {
        assert.ok(dump.includes(field), `the gateway's connection manager has ${field}`);
      }
    });

    it("a live pluginConfig change (other audiences) is pushed: the same token gets 403, Envoy not restarted", async () => {
      const pid = envoy!.child.pid;
      const changed = structuredClone(plugin);
      changed.spec.pluginConfig.jwtRules[0].audiences = ["https://other.cellauth.example"];
      await cp.client.apply(changed);
      const r = await until("403 after the push", (x) => x.status === 403, { authorization: `Bearer ${edgeToken}` });
      assert.match(r.body + (r.headers.get("www-authenticate") ?? ""), /aud/i);
      assert.equal(envoy!.child.exitCode, null);
      assert.equal(envoy!.child.pid, pid);
    });

    it("Envoy accepted every push (no NACK)", async () => {
      const stats = await (await fetch(`http://127.0.0.1:${envoy!.adminPort}/stats?filter=update_rejected`)).text();
      const rejected = stats.split("\n").filter((l) => /update_rejected: [1-9]/.test(l));
      assert.deepEqual(rejected, [], `NACKs:\n${envoy!.log().split("\n").filter((l) => /rejected|NACK/i.test(l)).join("\n")}`);
      await assertLoopbackOnly(envoy!.adminPort);
    });
  });

  describe("istiod pushes the rendered inbound and outbound WasmPlugins to a sidecar (upstream Envoy, no pilot-agent)", { skip: skipIstiod }, () => {
    let envoy: Awaited<ReturnType<typeof startIstioEnvoy>> | undefined;
    let upstream: Upstream;
    let inPort: number;
    let inbound: any;
    const sleepKill = async () => {
      if (!envoy) return;
      envoy.child.kill("SIGTERM");
      await Promise.race([new Promise((r) => envoy!.child.once("exit", r)), sleep(5000)]);
      envoy.child.kill("SIGKILL");
      rmSync(envoy.dir, { recursive: true, force: true });
    };

    before(async () => {
      const wasm = ensureFilterBuilt();
      const sha256 = createHash("sha256").update(readFileSync(wasm)).digest("hex");
      upstream = await startUpstream();
      inPort = await freePort();
      const objs = [...rendered("customer-products"), ...rendered("reviews")];
      for (const o of objs) {
        if (o.kind === "DestinationRule" || o.kind === "ServiceEntry") continue;
        if (o.kind === "WasmPlugin") {
          const p = structuredClone(o) as any;
          p.spec.url = `file://${wasm}`;
          p.spec.sha256 = sha256;
          if (p.metadata.name === "reviews-service-cellauth-inbound") inbound = p;
          await cp.client.apply(p);
        } else await cp.client.apply(o);
      }
      assert.ok(inbound, "the rendered inbound plugin of reviews-service");
      for (const o of sidecarPlumbing(inPort, upstream.port)) await cp.client.apply(o);
      envoy = await startIstioEnvoy(cp.istiod!.grpcPort, "sidecar", "reviews-service", "127.0.0.3", { INTERCEPTION_MODE: "NONE" });
    });
    after(async () => {
      await sleepKill();
      await upstream?.close();
    });

    const until = (what: string, path: string, want: (r: Answer) => boolean, timeoutMs = 60_000) =>
      pollUntil(what, `http://127.0.0.1:${inPort}${path}`, {}, want, async () => {
        const admin = (p: string) => fetch(`http://127.0.0.1:${envoy!.adminPort}${p}`).then((r) => r.text()).catch(() => "");
        const dump = `${await admin("/listeners")}\n--- clusters ---\n${(await admin("/clusters")).split("\n").filter((l) => /::(added_via_api|observability_name)/.test(l)).join("\n")}`;
        return `--- listeners ---\n${dump}\n--- envoy ---\n${envoy?.log().slice(-3000)}`;
      }, timeoutMs);

    it("the inbound listener (Sidecar ingress bound to 127.0.0.1) answers a request without a token with cellauth's 401", async () => {
      const r = await until("401 from the inbound filter", "/reviews/1", (x) => x.status === 401 && /json/.test(x.headers.get("content-type") ?? ""));
      assert.match(r.headers.get("www-authenticate") ?? "", /^Bearer realm="reviews"/);
      assert.equal(upstream.seen.filter((x) => x.path === "/reviews/1").length, 0, "the service was not reached");
    });

    it("the rendered AuthorizationPolicies are enforced: allow-nothing plus an ALLOW for port 8080 only, so the test's port gets 403", async () => {
      const r = await until("403 from Istio's RBAC", "/reviews/health", (x) => x.status === 403);
      assert.match(r.body, /RBAC: access denied/);
    });

    it("the rendered unsecured path reaches the service without a token (the rendered ALLOW policy, on the test's port)", async () => {
      const ap = structuredClone(rendered("reviews").find((o) => o.kind === "AuthorizationPolicy" && o.metadata.name === "reviews-service")) as any;
      assert.deepEqual(ap.spec.rules[0].to[0].operation.ports, ["8080"]);
      ap.metadata.name = "test-reviews-service-port";
      ap.spec.rules[0].to[0].operation.ports = [String(inPort)];
      await cp.client.apply(ap);
      const r = await until("200 on the unsecured path", "/reviews/health", (x) => x.status === 200);
      assert.ok(upstream.seen.some((x) => x.path === "/reviews/health"), r.body);
    });

    it("a live pluginConfig change (the unsecured rule removed) is pushed: the same path now needs a token", async () => {
      const pid = envoy!.child.pid;
      const changed = structuredClone(inbound);
      delete changed.spec.pluginConfig.rules;
      await cp.client.apply(changed);
      await until("401 after the push", "/reviews/health", (x) => x.status === 401);
      assert.equal(envoy!.child.pid, pid);
      assert.equal(envoy!.child.exitCode, null);
    });

    it("Envoy accepted every push (no NACK), the outbound plugin included", async () => {
      const stats = await (await fetch(`http://127.0.0.1:${envoy!.adminPort}/stats?filter=update_rejected`)).text();
      const rejected = stats.split("\n").filter((l) => /update_rejected: [1-9]/.test(l));
      assert.deepEqual(rejected, [], `NACKs:\n${envoy!.log().split("\n").filter((l) => /rejected|NACK/i.test(l)).join("\n")}`);
      const dump = await (await fetch(`http://127.0.0.1:${envoy!.adminPort}/config_dump?resource=ecds_filters`)).text();
      assert.match(dump, /reviews-service-cellauth-outbound/);
      assert.match(dump, /reviews-service-cellauth-inbound/);
      await assertLoopbackOnly(envoy!.adminPort);
    });
  });
});

/**
 * For the sidecar: a Sidecar resource that binds the inbound port and one egress port to
 * 127.0.0.1 (interception mode NONE: there is no iptables redirect here, and nothing may bind
 * 0.0.0.0), the service's endpoint is a local upstream; mTLS is off for this workload (STRICT
 * needs certificates from pilot-agent's SDS, which upstream Envoy alone does not have), and the
 * STS clusters are plain HTTP for the same reason.
 */
function sidecarPlumbing(inPort: number, upstreamPort: number): K8sObject[] {
  const ns = "reviews";
  return [
    // The egress port is the STS Services' 8080 (a Sidecar egress port selects the services on
    // it), bound to 127.0.0.3 so it meets no other process's 127.0.0.1:8080.
    { apiVersion: "networking.istio.io/v1", kind: "Sidecar", metadata: { name: "test-reviews-service", namespace: ns },
      spec: { workloadSelector: { labels: { app: "reviews-service" } },
        ingress: [{ port: { number: inPort, protocol: "HTTP", name: "http" }, bind: "127.0.0.1", captureMode: "NONE", defaultEndpoint: `127.0.0.1:${upstreamPort}` }],
        egress: [{ port: { number: 8080, protocol: "HTTP", name: "http-egress" }, bind: "127.0.0.3", captureMode: "NONE", hosts: ["reviews/*", "customer-products/*"] }] } },
    { apiVersion: "security.istio.io/v1", kind: "PeerAuthentication", metadata: { name: "test-reviews-service-plaintext", namespace: ns },
      spec: { selector: { matchLabels: { app: "reviews-service" } }, mtls: { mode: "DISABLE" } } },
    { apiVersion: "networking.istio.io/v1", kind: "DestinationRule", metadata: { name: "test-peer-sts-plaintext", namespace: ns },
      spec: { host: "customer-products--sts-service.customer-products.svc.cluster.local", trafficPolicy: { tls: { mode: "DISABLE" } } } },
  ];
}

/** Every listener istiod gave the Envoy binds a loopback address (nothing on 0.0.0.0). */
async function assertLoopbackOnly(adminPort: number): Promise<void> {
  const listeners = (await (await fetch(`http://127.0.0.1:${adminPort}/listeners`)).text()).trim().split("\n").filter(Boolean);
  assert.ok(listeners.length > 0, "istiod sent listeners");
  for (const l of listeners) assert.match(l, /::127\.\d+\.\d+\.\d+:\d+$/, `listener not on loopback: ${l}`);
}

/** The spec fields of `got` that `want` has (the server adds defaults; we check nothing was dropped). */
function pick(got: any, want: any): any {
  if (Array.isArray(want)) return Array.isArray(got) ? want.map((w, i) => pick(got[i], w)) : got;
  if (want && typeof want === "object") {
    if (!got || typeof got !== "object") return got;
    return Object.fromEntries(Object.keys(want).map((k) => [k, pick(got[k], want[k])]));
  }
  return got;
}

/** A stand-in STS: answers every token exchange with an opaque cell token, and records it. */
async function startStubSts(): Promise<{ server: Server; port: number; requests: URLSearchParams[] }> {
  const requests: URLSearchParams[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => { body += c; });
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/token") { res.writeHead(404).end(); return; }
      requests.push(new URLSearchParams(body));
      const out = JSON.stringify({ access_token: "stub-cell-token", issued_token_type: "urn:ietf:params:oauth:token-type:jwt", token_type: "Bearer", expires_in: 300 });
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(out) }).end(out);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, port: (server.address() as { port: number }).port, requests };
}

/**
 * What a cluster would have and this test has not: endpoints. The IdP host and the STS
 * Service get loopback endpoints (a ServiceEntry, a WorkloadEntry the STS Service selects),
 * plain HTTP (no pilot-agent, so no SDS certificates for mTLS to them); a Gateway binds the
 * cell gateway's listener to 127.0.0.1; a VirtualService answers directly and references the
 * clusters the filter calls, which a gateway only receives when a route uses them
 * (PILOT_FILTER_GATEWAY_CLUSTER_CONFIG).
 */
function testPlumbing(jwksPort: number, stsPort: number, gwPort: number): K8sObject[] {
  const ns = "reviews";
  const stsHost = "reviews--sts-service.reviews.svc.cluster.local";
  return [
    { apiVersion: "networking.istio.io/v1", kind: "ServiceEntry", metadata: { name: "test-idp", namespace: ns },
      spec: { hosts: ["idp.cellauth.example"], location: "MESH_EXTERNAL", resolution: "STATIC",
        ports: [{ number: 80, name: "http", protocol: "HTTP", targetPort: jwksPort }], endpoints: [{ address: "127.0.0.1" }] } },
    { apiVersion: "networking.istio.io/v1", kind: "WorkloadEntry", metadata: { name: "test-sts", namespace: ns },
      spec: { address: "127.0.0.1", labels: { app: "reviews--sts-service" }, ports: { http: stsPort }, serviceAccount: "reviews--sts-service" } },
    { apiVersion: "networking.istio.io/v1", kind: "DestinationRule", metadata: { name: "test-sts-plaintext", namespace: ns },
      spec: { host: stsHost, trafficPolicy: { tls: { mode: "DISABLE" } } } },
    { apiVersion: "networking.istio.io/v1", kind: "Gateway", metadata: { name: "reviews-gateway", namespace: ns },
      spec: { selector: { app: "reviews--gateway" }, servers: [{ port: { number: gwPort, name: "http", protocol: "HTTP" }, bind: "127.0.0.1", hosts: ["*"] }] } },
    { apiVersion: "networking.istio.io/v1", kind: "VirtualService", metadata: { name: "reviews-gateway", namespace: ns },
      spec: { hosts: ["*"], gateways: ["reviews-gateway"], http: [
        { match: [{ uri: { prefix: "/cellauth-test/sts" } }], route: [{ destination: { host: stsHost, port: { number: 8080 } } }] },
        { match: [{ uri: { prefix: "/cellauth-test/idp" } }], route: [{ destination: { host: "idp.cellauth.example", port: { number: 80 } } }] },
        { directResponse: { status: 200, body: { string: "reviews gateway ok" } } },
      ] } },
  ];
}

/** Upstream Envoy as an Istio gateway pod would run it: a `router` node with ADS to istiod. */
// The proxies' own addresses (node id, INSTANCE_IPS) are other loopback addresses than the
// WorkloadEntry's 127.0.0.1, so istiod never mistakes a proxy for that workload.
const startRouterEnvoy = (xdsPort: number) => startIstioEnvoy(xdsPort, "router", "reviews--gateway", "127.0.0.2", {});

/**
 * Upstream Envoy bootstrapped like istio-agent would bootstrap istio-proxy, minus the agent:
 * node id <type>~127.0.0.1~<pod>.<ns>~<ns>.svc.cluster.local, the metadata istiod reads, ADS
 * to istiod's plaintext port.
 */
async function startIstioEnvoy(xdsPort: number, type: "router" | "sidecar", app: string, ip: string, extraMetadata: Record<string, unknown>) {
  const dir = mkdtempSync(join(tmpdir(), `cellauth-${type}-envoy-`));
  const adminPath = join(dir, "admin");
  const bootstrap = {
    node: {
      id: `${type}~${ip}~${app}-1.reviews~reviews.svc.cluster.local`,
      cluster: `${app}.reviews`,
      metadata: {
        NAMESPACE: "reviews", NAME: `${app}-1`, CLUSTER_ID: "Kubernetes", ISTIO_VERSION: "1.30.0",
        LABELS: { app }, INSTANCE_IPS: ip, SERVICE_ACCOUNT: app, WORKLOAD_NAME: app, ...extraMetadata,
      },
    },
    admin: { address: { socket_address: { address: "127.0.0.1", port_value: 0 } } },
    dynamic_resources: {
      ads_config: { api_type: "GRPC", transport_api_version: "V3", grpc_services: [{ envoy_grpc: { cluster_name: "xds-grpc" } }] },
      cds_config: { ads: {}, resource_api_version: "V3" },
      lds_config: { ads: {}, resource_api_version: "V3" },
    },
    static_resources: {
      clusters: [{
        name: "xds-grpc", type: "STATIC", connect_timeout: "1s",
        typed_extension_protocol_options: { "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
          "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions", explicit_http_config: { http2_protocol_options: {} } } },
        load_assignment: { cluster_name: "xds-grpc", endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: xdsPort } } } }] }] },
      }],
    },
  };
  writeFileSync(join(dir, "envoy.json"), JSON.stringify(bootstrap));
  const logFile = join(dir, "envoy.log");
  const { openSync, closeSync, existsSync } = await import("node:fs");
  const fd = openSync(logFile, "w");
  const child = spawn(envoyBin, ["-c", join(dir, "envoy.json"), "--concurrency", "1", "--disable-hot-restart",
    "--admin-address-path", adminPath, "--log-level", "warn", "--component-log-level", "wasm:info,config:info"], { stdio: ["ignore", fd, fd] });
  closeSync(fd);
  process.once("exit", () => child.kill("SIGKILL"));
  const log = () => { try { return readFileSync(logFile, "utf8"); } catch { return ""; } };
  for (let i = 0; i < 200 && !existsSync(adminPath); i++) await sleep(100);
  const admin = existsSync(adminPath) ? readFileSync(adminPath, "utf8").trim() : "";
  if (!admin) throw new Error(`envoy did not start:\n${log().slice(-2000)}`);
  return { child, dir, adminPort: Number(admin.split(":").pop()), log };
}
