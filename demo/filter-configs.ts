// cellauth pluginConfigs (config/cellauth.schema.json) for each role in the two-cell demo.
// Cluster names are the Envoy clusters each role's Envoy defines (see topology.ts).
import { PAYLOAD_HEADER } from "./services.ts";

// A cell is a namespace (as the Istio render does): its workloads' SPIFFE IDs are
// spiffe://cluster.local/ns/<cell>/sa/<workload>, and its STS issues as <cell>--sts-service.<cell>.
export const namespaceOf = (cell: string) => cell;
export const stsIssuer = (cell: string) => `${cell}--sts-service.${namespaceOf(cell)}`;
export const cellAudience = (cell: string) => `${cell}.${namespaceOf(cell)}`;
/** The header cell tokens travel in, between gateways and sidecars. */
export const CELL_TOKEN_HEADER = "cellery-authorization";

const fromCellHeader = [{ name: CELL_TOKEN_HEADER, prefix: "Bearer " }];

export interface AuthzTuning {
  /** Filter-side decision cache; 0 = ask the STS on every request. */
  cacheTtlSeconds: number;
  timeoutMs: number;
}

/** Global gateway: verifies the edge token and passes it on (the cell gateway exchanges it). */
export function globalGatewayConfig(globalIssuer: string, edgeAudience: string) {
  return {
    version: "v1",
    cell: "global",
    mode: "inbound",
    workload: "global-gateway",
    jwtRules: [{ issuer: globalIssuer, audiences: [edgeAudience], remoteJwks: { cluster: "global-idp" }, forwardOriginalToken: true }],
  };
}

/** A cell gateway: verifies the edge token, exchanges it at its STS for a token for this cell. */
export function cellGatewayConfig(cell: string, globalIssuer: string, edgeAudience: string) {
  return {
    version: "v1",
    cell,
    namespace: namespaceOf(cell),
    mode: "gateway",
    workload: "gateway",
    jwtRules: [{ issuer: globalIssuer, audiences: [edgeAudience], remoteJwks: { cluster: "global-idp" } }],
    tokenExchange: { cluster: `sts-${cell}`, header: CELL_TOKEN_HEADER },
  };
}

/**
 * A sidecar's inbound filter: accepts cell tokens from its own STS and from `peers`' STSs (keys
 * fetched from each STS cluster) only from the mTLS peer each token is bound to (boundToPeer is the
 * default for a cell STS issuer), asks its STS for a decision, stores the user context.
 */
export function inboundConfig(cell: string, workload: string, peers: string[], authz: AuthzTuning) {
  const rule = (issuerCell: string) => ({
    issuer: stsIssuer(issuerCell),
    audiences: [cellAudience(cell)],
    remoteJwks: { cluster: `sts-${issuerCell}` },
    fromHeaders: fromCellHeader,
    outputPayloadToHeader: PAYLOAD_HEADER,
  });
  return {
    version: "v1",
    cell,
    namespace: namespaceOf(cell),
    mode: "inbound",
    workload,
    jwtRules: [cell, ...peers].map(rule),
    authorization: { cluster: `sts-${cell}`, timeoutMs: authz.timeoutMs, cacheTtlSeconds: authz.cacheTtlSeconds },
    userContext: {},
  };
}

/** A sidecar's outbound filter: calls to `<dst>--<service>` for a cell in `destinations` get a token for that cell from our STS. */
export function outboundConfig(cell: string, workload: string, destinations: string[]) {
  return {
    version: "v1",
    cell,
    namespace: namespaceOf(cell),
    mode: "outbound",
    workload,
    // Outbound does not verify tokens itself; the schema still wants a rule (our own issuer).
    jwtRules: [{ issuer: stsIssuer(cell), remoteJwks: { cluster: `sts-${cell}` }, fromHeaders: fromCellHeader }],
    tokenExchange: {
      cluster: `sts-${cell}`,
      header: CELL_TOKEN_HEADER,
      destinations: destinations.map((d) => ({ cell: d, namespace: namespaceOf(d) })),
    },
    userContext: {},
  };
}
