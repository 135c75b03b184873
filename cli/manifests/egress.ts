// An edge issuer outside the mesh: a ServiceEntry so the gateway's dispatch_http_call has an
// Istio cluster to target, and for https a DestinationRule that originates TLS, because the
// filter speaks plain HTTP to port 80 of that cluster (see names.ts globalJwksRoute).
import { DestinationRule } from "@kubernetes-models/istio/networking.istio.io/v1beta1/DestinationRule";
import { ServiceEntry } from "@kubernetes-models/istio/networking.istio.io/v1beta1/ServiceEntry";
import type { Cell } from "../cell.ts";
import { cellLabels, globalJwksRoute } from "../names.ts";
import { checked, type Rendered } from "./model.ts";

export function egress(cell: Cell): Rendered[] {
  if (!cell.globalIssuer) return [];
  const ext = globalJwksRoute(cell.globalIssuer.jwksUri).external;
  if (!ext) return [];
  const name = `${cell.name}-global-issuer`;
  const metadata = { name, namespace: cell.namespace, labels: cellLabels(cell) };
  const ports = ext.tls
    ? [{ number: 80, name: "http-origination", protocol: "HTTP", targetPort: ext.port }, { number: ext.port, name: "https", protocol: "HTTPS" }]
    : [{ number: ext.port, name: "http", protocol: "HTTP" }];
  const out = [checked(`serviceentry-${name}`, new ServiceEntry({
    metadata,
    spec: { hosts: [ext.host], location: "MESH_EXTERNAL", resolution: "DNS", ports, exportTo: ["."] },
  }))];
  if (ext.tls) {
    out.push(checked(`destinationrule-${name}`, new DestinationRule({
      metadata,
      spec: {
        host: ext.host,
        exportTo: ["."],
        trafficPolicy: { portLevelSettings: [{ port: { number: 80 }, tls: { mode: "SIMPLE", sni: ext.host } }] },
      },
    })));
  }
  return out;
}
