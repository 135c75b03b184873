// One ServiceAccount per workload, named after it: Istio's mTLS identity is
// spiffe://<trust domain>/ns/<namespace>/sa/<service account>, so a shared or default account
// would make every workload of the cell the same peer to the STS and to each other.
// The services' Deployments are the user's; the render creates the accounts they must run as
// (serviceAccountName: <service>). The STS's own account is rendered with its Deployment.
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import type { Cell } from "../cell.ts";
import { cellLabels, gatewayName } from "../names.ts";
import { checked, type Rendered } from "./model.ts";

export function serviceAccounts(cell: Cell): Rendered[] {
  const account = (name: string) => checked(`serviceaccount-${name}`, new ServiceAccount({
    metadata: { name, namespace: cell.namespace, labels: { ...cellLabels(cell), app: name } },
  }));
  return [...cell.services.map((s) => account(s.name)), account(gatewayName(cell.name))];
}
