// The filter's pluginConfig for each place it runs (config/cellauth.schema.json is the
// contract). Inbound: verify the cell token in `cellery-authorization`, ask the STS for a
// decision. Outbound: exchange the user context for a token to the destination cell.
// Gateway: verify the edge token (global issuer) and exchange it for a token to this cell.
import type { Cell } from "./cell.ts";
import { cellAudience, globalJwksRoute, PLUGIN_NAME, stsCluster, stsHost, stsIssuer, TOKEN_HEADER } from "./names.ts";
import { filterMatch } from "./paths.ts";

export type PluginConfig = Record<string, unknown>;
export type Mode = "inbound" | "outbound" | "gateway";

/** The cell's own STS as the filter reaches it: Istio cluster name plus Host header. */
function ownSts(cell: Cell) {
  return { cluster: stsCluster(cell.name, cell.namespace, cell.sts.port), authority: stsHost(cell.name, cell.namespace) };
}

/** jwtRules for tokens minted by STSs (this cell's and its trusted peers'), all for audience <cell>.<ns>. */
function cellTokenRules(cell: Cell): Record<string, unknown>[] {
  const aud = cellAudience(cell.name, cell.namespace);
  const fromHeaders = [{ name: TOKEN_HEADER, prefix: "Bearer " }];
  const issuers = [
    { cell: cell.name, namespace: cell.namespace, port: cell.sts.port },
    ...cell.trustedPeers.map((p) => ({ cell: p.cell, namespace: p.namespace, port: p.stsPort })),
  ];
  return issuers.map((i) => ({
    issuer: stsIssuer(i.cell, i.namespace),
    audiences: [aud],
    remoteJwks: { cluster: stsCluster(i.cell, i.namespace, i.port), authority: stsHost(i.cell, i.namespace) },
    fromHeaders,
  }));
}

function unsecuredRules(cell: Cell): Record<string, unknown>[] {
  return cell.unsecuredPaths.map((p) => ({ match: filterMatch(p), requires: "none" }));
}

function base(cell: Cell, mode: Mode, workload: string): PluginConfig {
  return { version: "v1", cell: cell.name, namespace: cell.namespace, mode, workload, realm: cell.name };
}

export function inboundConfig(cell: Cell, workload: string): PluginConfig {
  const rules = unsecuredRules(cell);
  return {
    ...base(cell, "inbound", workload),
    jwtRules: cellTokenRules(cell),
    ...(rules.length ? { rules } : {}),
    authorization: ownSts(cell),
    userContext: {},
  };
}

export function outboundConfig(cell: Cell, workload: string): PluginConfig {
  return {
    ...base(cell, "outbound", workload),
    // Outbound does not verify (it exchanges); the schema still wants the trust it would use.
    jwtRules: cellTokenRules(cell).slice(0, 1),
    // Only calls to a trusted peer cell's services (<cell>--<service>[.<ns>[.svc[.cluster.local]]])
    // get a cell token; every other host passes through untouched.
    tokenExchange: { ...ownSts(cell), destinations: cell.trustedPeers.map((p) => ({ cell: p.cell, namespace: p.namespace })) },
    userContext: {},
  };
}

export function gatewayConfig(cell: Cell): PluginConfig {
  if (!cell.globalIssuer) throw new Error("gateway plugin needs globalIssuer");
  const route = globalJwksRoute(cell.globalIssuer.jwksUri);
  const rule: Record<string, unknown> = {
    issuer: cell.globalIssuer.issuer,
    // Always present: the filter refuses a gateway rule without audiences.
    audiences: cell.globalIssuer.audiences,
    remoteJwks: { cluster: route.cluster, path: route.path, authority: route.authority },
  };
  const rules = unsecuredRules(cell);
  return {
    ...base(cell, "gateway", "gateway"),
    jwtRules: [rule],
    ...(rules.length ? { rules } : {}),
    tokenExchange: { ...ownSts(cell), audience: cell.name },
  };
}

export { PLUGIN_NAME };
