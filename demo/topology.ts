// The two-cell topology of the demo and of tests/e2e, all real processes on 127.0.0.1:
//
//   client ─edge JWT─► global gateway ─► reviews gateway ─► reviews-service sidecar (inbound) ─► reviews-service
//                      (verify edge)     (exchange at       (verify, authorize at STS-reviews,       │ GET customer-products--
//                                         STS-reviews)       store user context)                     ▼ categories-service
//                                                            reviews-service sidecar (outbound: token for customer-products)
//                                                                   ─► categories-service sidecar (inbound: verify with
//                                                                      STS-reviews' JWKS, authorize at STS-customer-products)
//                                                                      ─► categories-service
//
// One Envoy per role group: each sidecar pair, each gateway. Envoy listeners bind port 0, so an
// Envoy can only point at what already runs: they start from the last hop back to the first.
//
// Every hop between Envoys, and every Envoy -> STS and STS -> STS call, is mutual TLS with X.509
// SVIDs from one SPIFFE CA made at start-up (trust domain cluster.local), as in Istio: a cell is a
// namespace and every workload has its own service account, spiffe://cluster.local/ns/<cell>/sa/<workload>.
// Only client -> global gateway (the edge) and each app <-> its own sidecar (loopback) are plain HTTP.
import { mkdtempSync, rmSync, copyFileSync, readdirSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, basename } from "node:path";
import { startOpa, startSts, seedPolicyDir, defaultPolicyDir, waitFor, type OpaProcess, type StsProcess } from "../tests/lib/sts-process.ts";
import { createGlobalIssuer, type GlobalIssuer } from "../tests/lib/global-issuer.ts";
import { startHydra, ensureHydra, type Hydra, type HydraUser } from "../tests/lib/hydra.ts";
import { startEnvoy, type Envoy, type UpstreamTls, type DownstreamTls } from "../tests/lib/envoy.ts";
import { SpiffeCa, type Svid } from "../tests/lib/spiffe-ca.ts";
import { startCategoriesService, startReviewsService, type Service } from "./services.ts";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.ts";
import { cellGatewayConfig, globalGatewayConfig, inboundConfig, outboundConfig, namespaceOf, type AuthzTuning } from "./filter-configs.ts";

export const EDGE_AUDIENCE = "https://shop.cellauth.local";
/** Another application's audience at the same IdP: its tokens must never become cell tokens. */
export const OTHER_APP_AUDIENCE = "https://payroll.other-app.example";
/** Who can sign in at the demo's IdP. */
export const USERS = ["alice", "bob", "warmup", "mallory"];
export const CELLS = ["reviews", "customer-products"] as const;
export type CellName = (typeof CELLS)[number];

export interface TopologyOptions {
  /** Filter-side authorization decision cache of both sidecars (default 1 s; 0 = none). */
  authzCacheTtlSeconds?: number;
  /** The sidecars' authorization timeout (default 1000 ms). */
  authzTimeoutMs?: number;
  /** Envoy log level for the wasm component (default "warn"). */
  wasmLogLevel?: string;
}

export interface Cell {
  opa: OpaProcess;
  sts: StsProcess;
}

/** The workloads of the demo and their X.509 SVIDs. customers-service never serves: it is the
 * workload an attacker controls in scene 4 (a valid mesh identity, but not the one a token was bound to). */
export interface Workloads {
  globalGateway: Svid;
  reviewsGateway: Svid;
  reviewsService: Svid;
  categoriesService: Svid;
  customersService: Svid;
}

export interface Topology {
  /** The edge identity provider: ORY Hydra, a real OpenID Connect provider (authorization-code flow). */
  idp: Hydra;
  /** An issuer nobody trusts, for tests of foreign tokens. */
  attacker: GlobalIssuer;
  /** The mesh's CA (trust domain cluster.local) and every workload's certificate. */
  ca: SpiffeCa;
  svids: Workloads;
  /** What the reviews gateway's mTLS listener saw per request: x-request-id -> peer SPIFFE ID. */
  gatewayPeer(requestId: string): string | undefined;
  cells: Record<CellName, Cell>;
  envoys: { categoriesSidecar: Envoy; reviewsSidecar: Envoy; reviewsGateway: Envoy; globalGateway: Envoy };
  /** Where clients call: the global gateway, and (for the bogus client) a sidecar directly. */
  urls: { globalGateway: string; reviewsSidecar: string; categoriesSidecar: string };
  /** customer-products' sidecar reaches its STS through this real, delay-capable TCP proxy. */
  customerProductsStsProxy: TcpProxy;
  authz: AuthzTuning;
  /** A fresh edge token for `sub`, as the user signs in at the IdP (negative `expiresIn`: one that expired that long ago). */
  userToken(sub: string, expiresIn?: number): Promise<string>;
  /** Drops the seed policy into customer-products' OPA and waits until OPA and every cache follow it. */
  applySeedPolicy(): Promise<void>;
  /** SIGKILLs a cell's STS and starts it again on the same port with the same keys. */
  restartSts(cell: CellName, downtime?: () => Promise<void>): Promise<void>;
  /** SIGKILLs a cell's OPA and starts a new one (same policies), pointing the STS at it. */
  restartOpa(cell: CellName, downtime?: () => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

const SEED = join(seedPolicyDir, "customer-products.rego");
// The reviews gateway's upstream, named as istiod names it: the gateway filter reads the service
// the route goes to from it, and asks the STS for a token that service may use onward (may_act).
const REVIEWS_SERVICE_CLUSTER = "outbound|8080||reviews-service.reviews.svc.cluster.local";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` over `items` and collects the first error after all settle (so cleanup is complete). */
async function settleAll(fns: (() => Promise<unknown>)[]): Promise<void> {
  const results = await Promise.allSettled(fns.map((f) => f()));
  const failed = results.find((r) => r.status === "rejected") as PromiseRejectedResult | undefined;
  if (failed) throw failed.reason;
}

/** Asks OPA directly whether the seed's denial is in force for a reviews -> categories-service call. */
async function seedInForce(opa: OpaProcess): Promise<boolean> {
  const input = { source: { cellInstanceName: "reviews" }, destination: { cellName: "customer-products", workload: "categories-service" } };
  // With the STS's token (without one, OPA answers only GET /health); an unreachable OPA is "unavailable".
  const r = await opa.query("cellery/io/categories_service_allow", input);
  return r.kind === "result" && r.value === false;
}

export async function start(opts: TopologyOptions = {}): Promise<Topology> {
  const authz: AuthzTuning = { cacheTtlSeconds: opts.authzCacheTtlSeconds ?? 1, timeoutMs: opts.authzTimeoutMs ?? 1000 };
  const runDir = mkdtempSync(join(tmpdir(), "cellauth-two-cell-"));
  const stops: (() => Promise<unknown>)[] = [];
  const cells = {} as Record<CellName, Cell>;
  const policies = { reviews: [defaultPolicyDir], "customer-products": [defaultPolicyDir] } as Record<CellName, string[]>;
  const stop = async () => {
    // Reverse start order; every stop runs even if one fails.
    const all = stops.splice(0).reverse();
    await Promise.allSettled(all.map((s) => s()));
    await Promise.allSettled(Object.values(cells).flatMap((c) => [c.sts.stop(), c.opa.stop()]));
    rmSync(runDir, { recursive: true, force: true });
  };

  try {
    const ca = await SpiffeCa.create(join(runDir, "pki"));
    const svids: Workloads = {
      globalGateway: await ca.issue("istio-system", "global-gateway"),
      reviewsGateway: await ca.issue("reviews", "reviews--gateway"),
      reviewsService: await ca.issue("reviews", "reviews-service"),
      categoriesService: await ca.issue("customer-products", "categories-service"),
      customersService: await ca.issue("reviews", "customers-service"),
    };
    // The edge IdP: users sign in through Hydra's authorization-code flow; the gateways find its
    // keys by OIDC discovery, the STS through its jwks_uri.
    const missing = ensureHydra();
    if (missing) throw new Error(`the demo's OpenID Connect provider (ORY Hydra) is unavailable: ${missing}`);
    const user = (name: string): HydraUser => ({ password: `${name}-password`, email: `${name}@shop.cellauth.local`, groups: ["customers"] });
    const idp = await startHydra({
      audience: EDGE_AUDIENCE,
      expiredTokens: true,
      otherAudiences: [OTHER_APP_AUDIENCE],
      users: Object.fromEntries(USERS.map((u) => [u, user(u)])),
    });
    stops.push(() => idp.stop());
    const attacker = await createGlobalIssuer("https://evil.example");

    // OPA + STS per cell. Keys live in runDir so a restarted STS keeps its identity.
    const keysDir = (cell: CellName) => join(runDir, `keys-${cell}`);
    const stsConfig = (cell: CellName): Record<string, unknown> =>
      cell === "reviews" ? { globalJWKS: { issuer: idp.issuer, uri: idp.jwksUri, audiences: [EDGE_AUDIENCE] } } : {};
    await settleAll(
      CELLS.map((cell) => async () => {
        const opa = await startOpa({ policies: policies[cell] });
        try {
          const sts = await startSts({ cell, namespace: namespaceOf(cell), ca, keysDir: keysDir(cell), config: { ...stsConfig(cell), opa: opa.stsConfig } });
          cells[cell] = { opa, sts };
        } catch (e) {
          await opa.stop();
          throw e;
        }
      }),
    );
    // Each cell trusts the other's STS; the peer's JWKS URL is only known now, so hot-reload it in.
    const peerOf = (cell: CellName): CellName => (cell === "reviews" ? "customer-products" : "reviews");
    for (const cell of CELLS) {
      const peer = cells[peerOf(cell)].sts;
      const outcome = await cells[cell].sts.applyConfig({ trustedPeers: [{ cell: peerOf(cell), namespace: namespaceOf(peerOf(cell)), jwksUri: peer.jwksUri }] });
      if (outcome !== "applied") throw new Error(`STS ${cell} rejected its trustedPeers`);
    }

    const proxy = await startTcpProxy(() => cells["customer-products"].sts.port);
    stops.push(() => proxy.close());

    const categories: Service = await startCategoriesService();
    stops.push(() => categories.close());
    let outboundPort = 0;
    const reviews: Service = await startReviewsService(() => outboundPort);
    stops.push(() => reviews.close());

    const common = { wasmLogLevel: opts.wasmLogLevel ?? "warn" };
    // mTLS: a listener that requires a client SVID, and a cluster that presents ours and accepts only `server`.
    const serve = (svid: Svid): DownstreamTls => ({ certFile: svid.certFile, keyFile: svid.keyFile, caFile: ca.caFile });
    const mtls = (svid: Svid, server: string): UpstreamTls => ({ certFile: svid.certFile, keyFile: svid.keyFile, caFile: ca.caFile, serverSpiffeId: server });
    const stsOf = (cell: CellName) => cells[cell].sts.svid.spiffeId;
    const gatewayLog = join(runDir, "reviews-gateway-access.log");
    const categoriesSidecar = await startEnvoy({
      ...common,
      listeners: [
        {
          name: "categories-inbound",
          tls: serve(svids.categoriesService),
          filters: [{ wasm: { name: "cellauth-inbound", vmId: "categories-service-sidecar", pluginConfig: inboundConfig("customer-products", "categories-service", ["reviews"], authz) } }],
          routes: [{ cluster: "categories-service" }],
        },
      ],
      clusters: {
        "categories-service": categories.port,
        "sts-customer-products": { port: proxy.port, tls: mtls(svids.categoriesService, stsOf("customer-products")) },
        "sts-reviews": { port: cells.reviews.sts.port, tls: mtls(svids.categoriesService, stsOf("reviews")) },
      },
    });
    stops.push(() => categoriesSidecar.stop());

    const reviewsSidecar = await startEnvoy({
      ...common,
      listeners: [
        {
          name: "reviews-inbound",
          tls: serve(svids.reviewsService),
          filters: [{ wasm: { name: "cellauth-inbound", vmId: "reviews-service-sidecar", pluginConfig: inboundConfig("reviews", "reviews-service", [], authz) } }],
          routes: [{ cluster: "reviews-service" }],
        },
        {
          name: "reviews-outbound",
          // Same vm_id as the inbound filter: the user context is shared data of that VM.
          filters: [{ wasm: { name: "cellauth-outbound", vmId: "reviews-service-sidecar", pluginConfig: outboundConfig("reviews", "reviews-service", ["customer-products"]) } }],
          routes: [{ cluster: "customer-products" }],
        },
      ],
      clusters: {
        "reviews-service": reviews.port,
        "sts-reviews": { port: cells.reviews.sts.port, tls: mtls(svids.reviewsService, stsOf("reviews")) },
        "customer-products": { port: categoriesSidecar.port("categories-inbound"), tls: mtls(svids.reviewsService, svids.categoriesService.spiffeId) },
      },
    });
    stops.push(() => reviewsSidecar.stop());
    outboundPort = reviewsSidecar.port("reviews-outbound");

    const reviewsGateway = await startEnvoy({
      ...common,
      listeners: [
        {
          name: "reviews-gateway",
          tls: serve(svids.reviewsGateway),
          accessLogPath: gatewayLog,
          filters: [{ wasm: { name: "cellauth-gateway", vmId: "reviews-gateway", pluginConfig: cellGatewayConfig("reviews", idp.issuer, EDGE_AUDIENCE) } }],
          routes: [{ cluster: REVIEWS_SERVICE_CLUSTER }],
        },
      ],
      clusters: {
        [REVIEWS_SERVICE_CLUSTER]: { port: reviewsSidecar.port("reviews-inbound"), tls: mtls(svids.reviewsGateway, svids.reviewsService.spiffeId) },
        "sts-reviews": { port: cells.reviews.sts.port, tls: mtls(svids.reviewsGateway, stsOf("reviews")) },
        "global-idp": idp.port,
      },
    });
    stops.push(() => reviewsGateway.stop());

    const globalGateway = await startEnvoy({
      ...common,
      listeners: [
        {
          name: "global-gateway",
          filters: [{ wasm: { name: "cellauth-global", vmId: "global-gateway", pluginConfig: globalGatewayConfig(idp.issuer, EDGE_AUDIENCE) } }],
          routes: [{ prefix: "/reviews", cluster: "reviews" }, { directResponse: { status: 404, body: "no such cell\n" } }],
        },
      ],
      clusters: {
        reviews: { port: reviewsGateway.port("reviews-gateway"), tls: mtls(svids.globalGateway, svids.reviewsGateway.spiffeId) },
        "global-idp": idp.port,
      },
    });
    stops.push(() => globalGateway.stop());

    const restartSts = async (cell: CellName, downtime?: () => Promise<void>) => {
      const old = cells[cell].sts;
      old.child.kill("SIGKILL");
      await old.stop(); // reaps the process, removes its config dir; keys stay in runDir
      if (downtime) await downtime();
      // Same config and port; the new process gets its SVID (and tls paths) from startSts again.
      const { tls: _oldTls, ...config } = old.config;
      cells[cell].sts = await startSts({ cell, namespace: namespaceOf(cell), ca, keysDir: keysDir(cell), config: { ...config, port: old.port } });
    };
    const restartOpa = async (cell: CellName, downtime?: () => Promise<void>) => {
      const old = cells[cell].opa;
      old.child.kill("SIGKILL");
      await old.stop();
      if (downtime) await downtime();
      const opa = await startOpa({ policies: policies[cell] });
      cells[cell].opa = opa;
      // A new OPA has a new URL and a new token.
      if ((await cells[cell].sts.applyConfig({ opa: opa.stsConfig })) !== "applied") throw new Error(`STS ${cell} rejected the new OPA url`);
    };
    const applySeedPolicy = async () => {
      const opa = cells["customer-products"].opa;
      policies["customer-products"] = [defaultPolicyDir, SEED];
      copyFileSync(SEED, join(opa.policyDir, basename(SEED)));
      await waitFor("OPA to load the seed policy", () => seedInForce(opa), 15_000, 100);
      // A decision the sidecar cached before the policy changed lives at most this long.
      if (authz.cacheTtlSeconds > 0) await sleep(authz.cacheTtlSeconds * 1000 + 200);
    };

    const gatewayPeer = (requestId: string) => {
      if (!existsSync(gatewayLog)) return undefined;
      for (const line of readFileSync(gatewayLog, "utf8").split("\n").reverse()) {
        try {
          const e = JSON.parse(line);
          if (e.request_id === requestId && e.peer && e.peer !== "-") return String(e.peer);
        } catch {
          // a partly written last line
        }
      }
      return undefined;
    };

    return {
      idp,
      attacker,
      ca,
      svids,
      gatewayPeer,
      cells,
      envoys: { categoriesSidecar, reviewsSidecar, reviewsGateway, globalGateway },
      urls: {
        globalGateway: globalGateway.url("global-gateway", ""),
        reviewsSidecar: reviewsSidecar.url("reviews-inbound", ""),
        categoriesSidecar: categoriesSidecar.url("categories-inbound", ""),
      },
      customerProductsStsProxy: proxy,
      authz,
      userToken: (sub, expiresIn) => (expiresIn !== undefined && expiresIn < 0 ? idp.expiredTokenFor(sub, -expiresIn) : idp.tokenFor(sub)),
      applySeedPolicy,
      restartSts,
      restartOpa,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Lists what is left in a directory (tests assert a clean stop). */
export function leftovers(dir: string, prefix: string): string[] {
  return readdirSync(dir).filter((n) => n.startsWith(prefix));
}
