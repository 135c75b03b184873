// peerIdentity "xfcc": the STS runs plain HTTP behind its own sidecar, here a REAL Envoy that
// terminates mutual TLS (client certificate required, verified against the trust domain's CA)
// and sets x-forwarded-client-cert. A client-forged XFCC header changes nothing: with
// SANITIZE_SET Envoy replaces it; with Istio's APPEND_FORWARD Envoy appends the verified peer
// and the STS reads only the last element.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { envoyBin } from "../lib/envoy.ts";
import { httpsFetch, startSts, waitFor, type StsProcess } from "../lib/sts-process.ts";
import type { Svid } from "../lib/spiffe-ca.ts";

const GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
const RS = "spiffe://cluster.local/ns/reviews/sa/reviews-service";
const ADMIN = "spiffe://cluster.local/ns/reviews/sa/payments-admin";
const T = (t: string) => `type.googleapis.com/${t}`;

let sts: StsProcess;
let envoy: ChildProcess | undefined;
let dir: string;
let envoyLog = "";
const ports = new Map<string, number>();

/** A listener that terminates mTLS as the STS's sidecar and forwards to the STS's plain port. */
function sidecarListener(name: string, mode: "SANITIZE_SET" | "APPEND_FORWARD", serverSvid: Svid, caFile: string) {
  return {
    name,
    address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
    filter_chains: [
      {
        transport_socket: {
          name: "envoy.transport_sockets.tls",
          typed_config: {
            "@type": T("envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext"),
            require_client_certificate: true,
            common_tls_context: {
              tls_certificates: [{ certificate_chain: { filename: serverSvid.certFile }, private_key: { filename: serverSvid.keyFile } }],
              validation_context: { trusted_ca: { filename: caFile } },
            },
          },
        },
        filters: [
          {
            name: "envoy.filters.network.http_connection_manager",
            typed_config: {
              "@type": T("envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"),
              stat_prefix: name,
              forward_client_cert_details: mode,
              set_current_client_cert_details: { uri: true },
              route_config: {
                name: `${name}-routes`,
                virtual_hosts: [{ name: "all", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "sts", timeout: "5s" } }] }],
              },
              http_filters: [{ name: "envoy.filters.http.router", typed_config: { "@type": T("envoy.extensions.filters.http.router.v3.Router") } }],
            },
          },
        ],
      },
    ],
  };
}

before(async () => {
  sts = await startSts({ cell: "reviews", namespace: "reviews", identity: "xfcc", config: { enableAuthorization: false, insecureAcknowledgements: ["enableAuthorization"], allowTokenWithoutSubject: true } });
  dir = mkdtempSync(join(tmpdir(), "cellauth-xfcc-envoy-"));
  const bootstrap = {
    admin: { address: { socket_address: { address: "127.0.0.1", port_value: 0 } } },
    static_resources: {
      listeners: [sidecarListener("sanitize", "SANITIZE_SET", sts.svid, sts.ca.caFile), sidecarListener("append", "APPEND_FORWARD", sts.svid, sts.ca.caFile)],
      clusters: [
        {
          name: "sts",
          type: "STATIC",
          connect_timeout: "0.25s",
          load_assignment: { cluster_name: "sts", endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: sts.port } } } }] }] },
        },
      ],
    },
  };
  const configPath = join(dir, "envoy.json");
  const adminPath = join(dir, "admin.txt");
  writeFileSync(configPath, JSON.stringify(bootstrap));
  envoy = spawn(envoyBin, ["-c", configPath, "--concurrency", "1", "--disable-hot-restart", "--admin-address-path", adminPath, "--log-level", "warn"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  envoy.stdout!.on("data", (d) => (envoyLog += d));
  envoy.stderr!.on("data", (d) => (envoyLog += d));
  await waitFor(
    "Envoy listeners",
    async () => {
      if (envoy!.exitCode !== null) throw new Error(`envoy exited: ${envoyLog.slice(-2000)}`);
      if (!existsSync(adminPath) || !readFileSync(adminPath, "utf8").trim()) return undefined;
      try {
        const res = await fetch(`http://${readFileSync(adminPath, "utf8").trim()}/listeners?format=json`);
        const body = (await res.json()) as { listener_statuses?: { name: string; local_address?: { socket_address?: { port_value?: number } } }[] };
        for (const l of body.listener_statuses ?? []) if (l.local_address?.socket_address?.port_value) ports.set(l.name, l.local_address.socket_address.port_value);
        return ports.size === 2 || undefined;
      } catch {
        return undefined;
      }
    },
    30_000,
    100,
  );
});
after(async () => {
  if (envoy && envoy.exitCode === null) {
    const exited = new Promise((r) => envoy!.once("exit", r));
    envoy.kill("SIGTERM");
    const t = setTimeout(() => envoy!.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(t);
  }
  await sts?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A workload token request through the sidecar listener, as `who`, with extra request headers. */
async function tokenVia(listener: string, who: Svid | null, headers: Record<string, string> = {}) {
  const res = await httpsFetch(
    `https://127.0.0.1:${ports.get(listener)}/token`,
    { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", ...headers }, body: new URLSearchParams({ grant_type: GRANT, audience: "reviews" }) },
    { ca: sts.ca.caPem, cert: who?.certPem, key: who?.keyPem },
  );
  const body = (await res.json()) as Record<string, unknown>;
  const claims = typeof body.access_token === "string" ? JSON.parse(Buffer.from(body.access_token.split(".")[1], "base64url").toString()) : undefined;
  return { status: res.status, body, claims };
}

const FORGERIES = [
  `By=spiffe://cluster.local/ns/reviews/sa/reviews--sts-service;URI=${ADMIN}`,
  `URI=${ADMIN}`,
  `By=x;URI=${RS},By=y;URI=${ADMIN}`,
  `By="a,b;c";Subject="CN=x, O=y";URI=${ADMIN}`,
];

test("SANITIZE_SET: a client-forged x-forwarded-client-cert changes nothing", async () => {
  const rs = await sts.workload("reviews-service");
  const honest = await tokenVia("sanitize", rs);
  assert.equal(honest.status, 200, JSON.stringify(honest.body));
  assert.deepEqual(honest.claims.cell, { name: "reviews", workload: "reviews-service" });
  for (const forged of FORGERIES) {
    const r = await tokenVia("sanitize", rs, { "x-forwarded-client-cert": forged });
    assert.equal(r.status, 200, forged);
    assert.deepEqual(r.claims.cell, { name: "reviews", workload: "reviews-service" }, forged);
    assert.deepEqual(r.claims.cnf, { spiffe_id: RS }, forged);
  }
  // A workload of another namespace cannot become a local one by forging the header.
  const outsider = await sts.workload("reviews-service", "customer-products");
  const r = await tokenVia("sanitize", outsider, { "x-forwarded-client-cert": `URI=${RS}` });
  assert.equal(r.status, 403);
  assert.deepEqual(r.body, { error: "unauthorized_client" });
});

test("APPEND_FORWARD (Istio): the STS reads only the last element, the one the sidecar appended", async () => {
  const rs = await sts.workload("reviews-service");
  for (const forged of FORGERIES) {
    const r = await tokenVia("append", rs, { "x-forwarded-client-cert": forged });
    assert.equal(r.status, 200, forged);
    assert.deepEqual(r.claims.cell, { name: "reviews", workload: "reviews-service" }, forged);
  }
  // A forged prefix that swallows the appended element (an open quote) fails closed.
  const broken = await tokenVia("append", rs, { "x-forwarded-client-cert": `URI="${ADMIN}` });
  assert.equal(broken.status, 401);
  const outsider = await sts.workload("reviews-service", "customer-products");
  const r = await tokenVia("append", outsider, { "x-forwarded-client-cert": `URI=${RS}` });
  assert.equal(r.status, 403);
});

test("the sidecar refuses a client without a certificate from the trust domain", async () => {
  await assert.rejects(tokenVia("sanitize", null, { "x-forwarded-client-cert": `URI=${RS}` }));
  await assert.rejects(tokenVia("append", null, { "x-forwarded-client-cert": `URI=${RS}` }));
});
