// The baseline every cell carries (as OpenChoreo's cells do): the namespace with sidecar
// injection, mTLS STRICT, an allow-nothing AuthorizationPolicy with ALLOW policies only for
// what the cell declares, and NetworkPolicies that deny ingress except from the cell itself,
// the Istio gateways, and (to its STS and gateway only) the cells it trusts. Every HTTP
// connection manager of the cell (sidecar inbound, gateway) normalises paths and refuses encoded
// slashes and underscore headers, as the project's own Envoy configs do (envoy/).
import { AuthorizationPolicy } from "@kubernetes-models/istio/security.istio.io/v1/AuthorizationPolicy";
import { PeerAuthentication } from "@kubernetes-models/istio/security.istio.io/v1beta1/PeerAuthentication";
import { EnvoyFilter } from "@kubernetes-models/istio/networking.istio.io/v1alpha3/EnvoyFilter";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { Namespace } from "kubernetes-models/v1/Namespace";
import type { Cell } from "../cell.ts";
import { cellLabels, stsName } from "../names.ts";
import { checked, type Rendered } from "./model.ts";

const HCM = "envoy.filters.network.http_connection_manager";
// What envoy/ and the test Envoys set: rules and OPA then see the path Envoy routes on, and an
// `x_cellery_auth_subject` header can never stand beside the real `x-cellery-auth-subject`.
// Mesh-wide, meshConfig.pathNormalization.normalization: MERGE_SLASHES is the equivalent (docs/istio.md).
const HARDENED_HCM = {
  "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
  normalize_path: true,
  merge_slashes: true,
  path_with_escaped_slashes_action: "REJECT_REQUEST",
  common_http_protocol_options: { headers_with_underscores_action: "REJECT_REQUEST" },
};

const nsSelector = (ns: string) => ({ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns } } });

export function baseline(cell: Cell): Rendered[] {
  const ns = cell.namespace;
  const labels = cellLabels(cell);
  const meta = (name: string) => ({ name, namespace: ns, labels });
  const sts = stsName(cell.name);
  const allPaths = [...new Set(cell.services.flatMap((s) => s.paths))];
  const peerNamespaces = [...new Set(cell.trustedPeers.map((p) => p.namespace))].filter((n) => n !== ns);

  const out: Rendered[] = [
    checked(`namespace-${ns}`, new Namespace({ metadata: { name: ns, labels: { ...labels, "istio-injection": "enabled" } } })),
    checked("peerauthentication-default", new PeerAuthentication({ metadata: meta("default"), spec: { mtls: { mode: "STRICT" } } })),
    // An ALLOW policy with no rules matches nothing: every request not allowed below is denied.
    checked("authorizationpolicy-allow-nothing", new AuthorizationPolicy({ metadata: meta("allow-nothing"), spec: {} })),
    checked("envoyfilter-cellauth-hardened-http", new EnvoyFilter({
      metadata: meta("cellauth-hardened-http"),
      spec: {
        configPatches: (["SIDECAR_INBOUND", "GATEWAY"] as const).map((context) => ({
          applyTo: "NETWORK_FILTER" as const,
          match: { context, listener: { filterChain: { filter: { name: HCM } } } },
          patch: { operation: "MERGE" as const, value: { typed_config: HARDENED_HCM } },
        })),
      },
    })),
  ];
  for (const s of cell.services) {
    out.push(checked(`authorizationpolicy-${s.name}`, new AuthorizationPolicy({
      metadata: meta(s.name),
      spec: {
        selector: { matchLabels: { app: s.name } },
        action: "ALLOW",
        rules: [{ to: [{ operation: { ports: [String(s.port)], paths: s.paths, ...(s.methods.length ? { methods: s.methods } : {}) } }] }],
      },
    })));
  }
  out.push(checked(`authorizationpolicy-${sts}`, new AuthorizationPolicy({
    metadata: meta(sts),
    spec: {
      selector: { matchLabels: { app: sts } },
      action: "ALLOW",
      rules: [
        // Token exchange and decisions: only this cell's own workloads (mTLS identity).
        { from: [{ source: { namespaces: [ns] } }], to: [{ operation: { methods: ["POST"], paths: ["/token", "/authorize"] } }] },
        // Public keys: any workload in the mesh (peer cells verify this cell's tokens).
        { from: [{ source: { principals: ["*"] } }], to: [{ operation: { methods: ["GET"], paths: ["/.well-known/jwks.json"] } }] },
      ],
    },
  })));
  if (cell.globalIssuer) {
    out.push(checked(`authorizationpolicy-${cell.name}--gateway`, new AuthorizationPolicy({
      metadata: meta(`${cell.name}--gateway`),
      spec: { selector: { matchLabels: cell.gateway.labels }, action: "ALLOW", rules: [{ to: [{ operation: { paths: allPaths } }] }] },
    })));
  }

  out.push(checked("networkpolicy-default-deny-ingress", new NetworkPolicy({
    metadata: meta("default-deny-ingress"),
    spec: { podSelector: {}, policyTypes: ["Ingress"] },
  })));
  out.push(checked("networkpolicy-allow-cell-and-istio-system", new NetworkPolicy({
    metadata: meta("allow-cell-and-istio-system"),
    spec: { podSelector: {}, policyTypes: ["Ingress"], ingress: [{ from: [{ podSelector: {} }, nsSelector("istio-system")] }] },
  })));
  if (peerNamespaces.length) {
    const from = peerNamespaces.map(nsSelector);
    out.push(checked("networkpolicy-allow-peers-to-sts", new NetworkPolicy({
      metadata: meta("allow-peers-to-sts"),
      spec: { podSelector: { matchLabels: { app: sts } }, policyTypes: ["Ingress"], ingress: [{ from, ports: [{ protocol: "TCP", port: cell.sts.port }] }] },
    })));
    out.push(checked("networkpolicy-allow-peers-to-gateway", new NetworkPolicy({
      metadata: meta("allow-peers-to-gateway"),
      spec: { podSelector: { matchLabels: cell.gateway.labels }, policyTypes: ["Ingress"], ingress: [{ from }] },
    })));
  }
  return out;
}
