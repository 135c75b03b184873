// Every name the manifests share, derived in one place: Cellery's STS naming
// (iss = <cell>--sts-service.<ns>, aud = <cell>.<ns>) and Istio's Envoy cluster names
// (outbound|<port>||<fqdn>), which is what the filter's dispatch_http_call must target.
import type { Cell } from "./cell.ts";

export const PLUGIN_NAME = "cellauth";
export const TOKEN_HEADER = "cellery-authorization";
export const OPA_PORT = 8181;
/** Istio's default trust domain: SPIFFE IDs are spiffe://cluster.local/ns/<ns>/sa/<account>. */
export const TRUST_DOMAIN = "cluster.local";

export const stsName = (cell: string) => `${cell}--sts-service`;
/** The cell gateway's workload (and ServiceAccount) name. */
export const gatewayName = (cell: string) => `${cell}--gateway`;
export const stsIssuer = (cell: string, ns: string) => `${stsName(cell)}.${ns}`;
export const cellAudience = (cell: string, ns: string) => `${cell}.${ns}`;
export const stsHost = (cell: string, ns: string) => `${stsName(cell)}.${ns}.svc.cluster.local`;
export const istioCluster = (host: string, port: number) => `outbound|${port}||${host}`;
export const stsCluster = (cell: string, ns: string, port: number) => istioCluster(stsHost(cell, ns), port);
export const stsJwksUri = (cell: string, ns: string, port: number) => `http://${stsHost(cell, ns)}:${port}/.well-known/jwks.json`;

/** Labels every rendered object carries, so `kubectl get -l cellauth.dev/cell=<cell>` finds them. */
export const cellLabels = (cell: Cell) => ({ "app.kubernetes.io/managed-by": "cellauth", "cellauth.dev/cell": cell.name });

export interface GlobalJwksRoute {
  cluster: string;
  path: string;
  authority: string;
  /** Set when the issuer is outside the mesh: it needs a ServiceEntry (and TLS origination for https). */
  external?: { host: string; port: number; tls: boolean };
}

/**
 * Where the gateway filter fetches the global JWKS. In-cluster hosts use their Istio cluster;
 * an external https host is reached through a plain-HTTP port 80 that Istio upgrades to TLS
 * (ServiceEntry targetPort 443 + DestinationRule tls SIMPLE), because dispatch_http_call
 * speaks plain HTTP to a cluster.
 */
export function globalJwksRoute(jwksUri: string): GlobalJwksRoute {
  const u = new URL(jwksUri);
  const tls = u.protocol === "https:";
  const port = u.port ? Number(u.port) : tls ? 443 : 80;
  const path = `${u.pathname}${u.search}`;
  const host = u.hostname;
  if (/\.svc(\.cluster\.local)?$/.test(host)) {
    const fqdn = host.endsWith(".svc") ? `${host}.cluster.local` : host;
    return { cluster: istioCluster(fqdn, port), path, authority: u.host };
  }
  if (tls) return { cluster: istioCluster(host, 80), path, authority: host, external: { host, port, tls } };
  return { cluster: istioCluster(host, port), path, authority: u.host, external: { host, port, tls } };
}
