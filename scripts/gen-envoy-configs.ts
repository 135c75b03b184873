// Generates the ready Envoy bootstraps in envoy/ from the same code the demo and the tests use:
// tests/lib/envoy-config.ts renders the bootstrap (with its hardened connection manager) and
// demo/filter-configs.ts gives each role's cellauth config. Only deployment details differ from
// the tests: listen addresses and ports, DNS clusters, and file paths under /etc/cellauth.
//   node --import tsx scripts/gen-envoy-configs.ts          rewrites envoy/*.yaml
//   node --import tsx scripts/gen-envoy-configs.ts --check  exits 1 when a file is out of date
// tests/envoy/envoy-configs.test.ts regenerates and compares, validates and runs each one.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { stringify } from 'yaml';
import { renderBootstrap, type EnvoyConfigSpec, type TlsFiles } from '../tests/lib/envoy-config.ts';
import { cellGatewayConfig, globalGatewayConfig, inboundConfig, outboundConfig } from '../demo/filter-configs.ts';

export const WASM = '/etc/cellauth/cellauth.wasm';
export const TLS: TlsFiles = { certFile: '/etc/cellauth/tls/cert.pem', keyFile: '/etc/cellauth/tls/key.pem', caFile: '/etc/cellauth/tls/ca.pem' };
const CELL = 'reviews';
const PEER = 'customer-products';
const IDP = 'https://idp.example.com';
const EDGE_AUDIENCE = 'https://shop.example.com';
const AUTHZ = { cacheTtlSeconds: 5, timeoutMs: 500 };

interface Role {
  file: string;
  title: string;
  notes: string[];
  spec: EnvoyConfigSpec;
  /** listener name -> port; cluster name -> host:port (DNS). */
  ports: Record<string, number>;
  hosts: Record<string, { host: string; port: number; tls: boolean }>;
}

const GATEWAY_UPSTREAM = `outbound|15006||reviews-service.${CELL}.svc.cluster.local`;
const sts = (cell: string) => ({ host: `${cell}--sts-service.${cell}.svc.cluster.local`, port: 8443, tls: true });

export const ROLES: Role[] = [
  {
    file: 'inbound-sidecar.yaml',
    title: `Inbound sidecar of ${CELL}/reviews-service`,
    notes: [
      'Requires a client certificate from the trust domain CA (mutual TLS, SPIFFE URI SAN); the caller is that peer.',
      `Accepts cell tokens of ${CELL} and ${PEER} (issuer <cell>--sts-service.<ns>, bound to the presenting peer),`,
      `asks the ${CELL} STS (/authorize) for every decision, and keeps the user context for the outbound sidecar (same vm_id).`,
      'The service itself listens on 127.0.0.1:8080 (cluster upstream).',
    ],
    spec: {
      listeners: [{
        name: 'inbound', tls: TLS,
        filters: [{ wasm: { name: 'cellauth-inbound', vmId: 'reviews-service-sidecar', wasmPath: WASM, pluginConfig: inboundConfig(CELL, 'reviews-service', [PEER], AUTHZ) } }],
      }],
      clusters: { upstream: 8080, [`sts-${CELL}`]: { port: 8443, tls: TLS }, [`sts-${PEER}`]: { port: 8443, tls: TLS } },
    },
    ports: { inbound: 15006 },
    hosts: { upstream: { host: '127.0.0.1', port: 8080, tls: false }, [`sts-${CELL}`]: sts(CELL), [`sts-${PEER}`]: sts(PEER) },
  },
  {
    file: 'outbound-sidecar.yaml',
    title: `Outbound sidecar of ${CELL}/reviews-service`,
    notes: [
      'The service sends its outgoing calls here (127.0.0.1:15001). A call to a service of a configured cell',
      `(<cell>--<service>[.<ns>[.svc[.cluster.local]]]) gets a cell token from the ${CELL} STS, carrying the user of the`,
      'inbound request with the same x-request-id; every other host passes untouched and never sees a cell token.',
      `Cell calls go to the ${PEER} gateway over mutual TLS (cluster upstream).`,
    ],
    spec: {
      listeners: [{
        name: 'outbound',
        filters: [{ wasm: { name: 'cellauth-outbound', vmId: 'reviews-service-sidecar', wasmPath: WASM, pluginConfig: outboundConfig(CELL, 'reviews-service', [PEER]) } }],
      }],
      clusters: { upstream: { port: 8443, tls: TLS }, [`sts-${CELL}`]: { port: 8443, tls: TLS } },
    },
    ports: { outbound: 15001 },
    hosts: { upstream: { host: `${PEER}--gateway.${PEER}.svc.cluster.local`, port: 8443, tls: true }, [`sts-${CELL}`]: sts(CELL) },
  },
  {
    file: 'cell-gateway.yaml',
    title: `Cell gateway of ${CELL}`,
    notes: [
      'Requires mutual TLS from the global gateway. Verifies the edge token (its audience is required in gateway mode)',
      `and exchanges it at the ${CELL} STS for a cell token in cellery-authorization; routes to the cell's services.`,
    ],
    spec: {
      listeners: [{
        name: 'gateway', tls: TLS,
        filters: [{ wasm: { name: 'cellauth-gateway', vmId: 'reviews-gateway', wasmPath: WASM, pluginConfig: cellGatewayConfig(CELL, IDP, EDGE_AUDIENCE) } }],
        // The upstream cluster is named as istiod names it: the filter reads the route's service
        // from it and asks the STS for a token that service may exchange onward (may_act).
        routes: [{ cluster: GATEWAY_UPSTREAM }],
      }],
      clusters: { [GATEWAY_UPSTREAM]: { port: 15006, tls: TLS }, [`sts-${CELL}`]: { port: 8443, tls: TLS }, 'global-idp': { port: 443, tls: TLS } },
    },
    ports: { gateway: 8443 },
    hosts: {
      [GATEWAY_UPSTREAM]: { host: `${CELL}--reviews-service.${CELL}.svc.cluster.local`, port: 15006, tls: true },
      [`sts-${CELL}`]: sts(CELL),
      'global-idp': { host: 'idp.example.com', port: 443, tls: true },
    },
  },
  {
    file: 'global-gateway.yaml',
    title: 'Global gateway',
    notes: [
      'The edge: verifies the edge token of the identity provider (JWKS from cluster global-idp) and forwards it',
      `to the ${CELL} cell gateway over mutual TLS. Put your public TLS certificate on this listener (transport_socket).`,
    ],
    spec: {
      listeners: [{
        name: 'global',
        filters: [{ wasm: { name: 'cellauth-global', vmId: 'global-gateway', wasmPath: WASM, pluginConfig: globalGatewayConfig(IDP, EDGE_AUDIENCE) } }],
      }],
      clusters: { upstream: { port: 8443, tls: TLS }, 'global-idp': { port: 443, tls: TLS } },
    },
    ports: { global: 8000 },
    hosts: {
      upstream: { host: `${CELL}--gateway.${CELL}.svc.cluster.local`, port: 8443, tls: true },
      'global-idp': { host: 'idp.example.com', port: 443, tls: true },
    },
  },
];

const HEADER = (r: Role) => [
  `# ${r.title}: a ready Envoy bootstrap with the cellauth filter.`,
  '# GENERATED by scripts/gen-envoy-configs.ts from tests/lib/envoy-config.ts and demo/filter-configs.ts',
  '# (the code the demo and the tests run); do not edit by hand: change the generator and run',
  '#   node --import tsx scripts/gen-envoy-configs.ts',
  '#',
  ...r.notes.map((n) => `# ${n}`),
  '#',
  '# Every connection manager is hardened: normalize_path and merge_slashes (RFC 3986 dot segments),',
  '# path_with_escaped_slashes_action: REJECT_REQUEST (%2F, %5C), and',
  '# common_http_protocol_options.headers_with_underscores_action: REJECT_REQUEST (x_cellery_auth_subject).',
  '# Mutual TLS placeholders: /etc/cellauth/tls/{cert,key,ca}.pem are this workload\'s SPIFFE SVID, its key and',
  '# the trust domain\'s CA bundle (peers must carry a spiffe://cluster.local/ URI SAN). The filter is',
  `# ${WASM} (npm run build writes build/cellauth.wasm). The cellauth configuration is the JSON`,
  '# string under configuration.value (schema: config/cellauth.schema.json). Admin: 127.0.0.1:15000 only.',
  '',
].join('\n');

/** The bootstrap of a role, as deployed: fixed ports on 0.0.0.0 and DNS clusters. */
export function bootstrapOf(r: Role): Record<string, any> {
  const b = renderBootstrap(r.spec) as any;
  b.admin.address.socket_address.port_value = 15000;
  for (const l of b.static_resources.listeners) {
    l.address.socket_address = { address: '0.0.0.0', port_value: r.ports[l.name] };
  }
  for (const c of b.static_resources.clusters) {
    const h = r.hosts[c.name];
    if (!h) throw new Error(`${r.file}: no host for cluster ${c.name}`);
    c.type = /^\d+\.\d+\.\d+\.\d+$/.test(h.host) ? 'STATIC' : 'STRICT_DNS';
    c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address = { address: h.host, port_value: h.port };
    if (!h.tls) delete c.transport_socket;
  }
  return b;
}

export function renderAll(): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of ROLES) out.set(r.file, HEADER(r) + stringify(bootstrapOf(r), { lineWidth: 0 }));
  return out;
}

export const envoyDir = resolve(import.meta.dirname, '../envoy');

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [file, text] of renderAll()) {
    const path = resolve(envoyDir, file);
    let old = '';
    try { old = readFileSync(path, 'utf8'); } catch { /* new */ }
    if (old === text) continue;
    if (check) { console.error(`envoy/${file} is out of date`); stale++; } else { writeFileSync(path, text); console.error(`wrote envoy/${file}`); }
  }
  process.exit(stale ? 1 : 0);
}
