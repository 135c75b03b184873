// The cell's STS: its JSON config and Rego policies as ConfigMaps, a Deployment with the STS
// container and an OPA sidecar on 127.0.0.1:8181, a Service, a ServiceAccount (its mesh
// identity), and a Sidecar resource. The STS binds 127.0.0.1 only, and Istio delivers inbound
// traffic to the pod IP, so the Sidecar's ingress defaultEndpoint forwards to 127.0.0.1.
//
// Replicas (default 2) share the cell's signing keys: a Secret `<cell>--sts-service-keys` that
// the operator creates (`cellauth sts-keys > signing-keys.json; kubectl create secret generic
// ... --from-file=signing-keys.json`; never rendered, so no private key lands in git), mounted
// read-only at the keys dir; the STS loads it without writing and reloads it when the Secret is
// updated. A PodDisruptionBudget keeps one replica up through voluntary disruptions; on
// termination the pod first leaves the endpoints (preStop sleep), then the STS drains in-flight
// requests on SIGTERM.
//
// OPA's REST API is locked down (token authentication + a system.authz policy, sts/opa-auth.ts):
// without it any process in the pod (or anything that reaches 127.0.0.1:8181) could PUT a policy
// that allows every request. A second operator-created Secret, `<cell>--sts-service-opa`
// (`cellauth opa-auth --out dir`; never rendered, so the token stays out of git), holds the
// token and the system.authz policy built from it. The OPA container mounts only the policy (it
// holds the token's SHA-256, not the token), the STS container only the token (opa.tokenFile).
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { Sidecar } from "@kubernetes-models/istio/networking.istio.io/v1beta1/Sidecar";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import { CellError } from "../yaml-source.ts";
import type { Cell } from "../cell.ts";
import { cellLabels, OPA_PORT, stsJwksUri, stsName, TRUST_DOMAIN } from "../names.ts";
import { stsRegex } from "../paths.ts";
import { checked, type Rendered } from "./model.ts";
import { pinImage } from "../image.ts";
import { OPA_AUTH_ARGS, OPA_AUTH_POLICY_KEY, OPA_AUTH_TOKEN_KEY } from "../../sts/opa-auth.ts";

export const STS_CONFIG_DIR = "/etc/cellauth";
export const STS_KEYS_DIR = "/var/run/cellauth/keys";
/** The Secret holding signing-keys.json, shared by the replicas (created by the operator). */
export const stsKeysSecret = (cell: Cell) => `${stsName(cell.name)}-keys`;
export const STS_OPA_TOKEN_DIR = "/var/run/cellauth/opa";
export const OPA_AUTHZ_DIR = "/opa-authz";
/** The Secret holding OPA's token and system.authz policy (created by the operator: `cellauth opa-auth`). */
export const stsOpaSecret = (cell: Cell) => `${stsName(cell.name)}-opa`;
/** Seconds the pod keeps serving after it is marked terminating, while endpoints update. */
const PRE_STOP_SLEEP_SECONDS = 5;

/** The STS config file (config/sts.schema.json); defaults are left to the STS. */
export function stsConfig(cell: Cell): Record<string, unknown> {
  return {
    version: "v1",
    cell: cell.name,
    namespace: cell.namespace,
    port: cell.sts.port,
    keysDir: STS_KEYS_DIR,
    tokenLifetimeSeconds: cell.tokenLifetimeSeconds,
    // The STS pod's Istio sidecar terminates mTLS and appends the verified peer to
    // x-forwarded-client-cert; the STS takes its caller from that last element only.
    peerIdentity: "xfcc",
    // Callers are SPIFFE IDs of this trust domain (Istio's default).
    trustDomain: TRUST_DOMAIN,
    ...(cell.globalIssuer ? { globalJWKS: { issuer: cell.globalIssuer.issuer, uri: cell.globalIssuer.jwksUri, audiences: cell.globalIssuer.audiences } } : {}),
    trustedPeers: cell.trustedPeers.map((p) => ({ cell: p.cell, namespace: p.namespace, jwksUri: stsJwksUri(p.cell, p.namespace, p.stsPort) })),
    // The token OPA's system.authz policy demands for decision queries (from the -opa Secret).
    opa: { url: `http://127.0.0.1:${OPA_PORT}`, tokenFile: `${STS_OPA_TOKEN_DIR}/${OPA_AUTH_TOKEN_KEY}` },
    unsecuredPaths: cell.unsecuredPaths.map(stsRegex),
  };
}

/** The Rego files, keyed by file name (one ConfigMap, so names must be unique). */
function policyData(cell: Cell): Record<string, string> {
  const data: Record<string, string> = {};
  for (const p of cell.policies) {
    try {
      data[basename(p.path)] = readFileSync(p.path, "utf8");
    } catch (e) {
      throw new CellError(cell.file, p.line, "policies", `cannot read ${p.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  return data;
}

// An exec probe: the STS listens on 127.0.0.1, where kubelet's (and Istio's rewritten) HTTP
// probes, which target the pod IP, cannot reach it.
const probe = (port: number, path: string) => ({
  exec: { command: ["node", "-e", `fetch("http://127.0.0.1:${port}${path}").then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`] },
  periodSeconds: 10,
  timeoutSeconds: 5,
});

/** The tag of an image reference ("latest" when it has none), as a label value. */
function imageTag(image: string): string {
  const lastPart = image.split("@")[0].split("/").pop() ?? "";
  const tag = lastPart.includes(":") ? lastPart.split(":").pop()! : "latest";
  return tag.replace(/[^A-Za-z0-9_.-]/g, "-").slice(0, 63) || "latest";
}

const hardened = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ["ALL"] },
};

/** `image`: the reference to run (default cell.sts.image, pinned when sts.sha256 is set). */
export function stsManifests(cell: Cell, image = pinImage(cell.sts.image, cell.sts.sha256)): Rendered[] {
  const name = stsName(cell.name);
  const ns = cell.namespace;
  const labels = { ...cellLabels(cell), app: name };
  // Istio's telemetry wants app and version labels on the pods.
  const podLabels = { ...labels, version: imageTag(cell.sts.image) };
  const configMap = `${name}-config`;
  const policies = `${name}-policies`;
  return [
    checked(`serviceaccount-${name}`, new ServiceAccount({ metadata: { name, namespace: ns, labels } })),
    checked(`configmap-${configMap}`, new ConfigMap({
      metadata: { name: configMap, namespace: ns, labels },
      data: { "sts.json": `${JSON.stringify(stsConfig(cell), null, 2)}\n` },
    })),
    checked(`configmap-${policies}`, new ConfigMap({ metadata: { name: policies, namespace: ns, labels }, data: policyData(cell) })),
    checked(`deployment-${name}`, new Deployment({
      metadata: { name, namespace: ns, labels },
      spec: {
        replicas: cell.sts.replicas,
        selector: { matchLabels: { app: name } },
        // A new pod is ready before an old one goes.
        strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        template: {
          metadata: { labels: podLabels },
          spec: {
            serviceAccountName: name,
            // preStop sleep, then SIGTERM: the STS drains (at most limits.requestTimeoutMs, 10 s).
            terminationGracePeriodSeconds: 30,
            affinity: {
              podAntiAffinity: {
                preferredDuringSchedulingIgnoredDuringExecution: [{
                  weight: 100,
                  podAffinityTerm: { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: { app: name } } },
                }],
              },
            },
            securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } },
            containers: [
              {
                name: "sts",
                image,
                args: ["--config", `${STS_CONFIG_DIR}/sts.json`],
                ports: [{ name: "http", containerPort: cell.sts.port }],
                readinessProbe: probe(cell.sts.port, "/readyz"),
                livenessProbe: { ...probe(cell.sts.port, "/healthz"), initialDelaySeconds: 10 },
                // Kubernetes' own sleep action: the image has no shell.
                lifecycle: { preStop: { sleep: { seconds: PRE_STOP_SLEEP_SECONDS } } },
                resources: { requests: { cpu: "50m", memory: "96Mi" }, limits: { memory: "256Mi" } },
                securityContext: hardened,
                volumeMounts: [
                  { name: "config", mountPath: STS_CONFIG_DIR, readOnly: true },
                  { name: "keys", mountPath: STS_KEYS_DIR, readOnly: true },
                  { name: "opa-token", mountPath: STS_OPA_TOKEN_DIR, readOnly: true },
                  { name: "tmp", mountPath: "/tmp" },
                ],
              },
              {
                name: "opa",
                image: cell.sts.opaImage,
                // --ignore=.* skips the ConfigMap volume's ..data and ..<timestamp> entries, which
                // would otherwise load every policy twice. OPA_AUTH_ARGS: every API request needs
                // the STS's token and is decided by the system.authz policy in OPA_AUTHZ_DIR.
                args: ["run", "--server", "--addr", `127.0.0.1:${OPA_PORT}`, ...OPA_AUTH_ARGS, "--ignore=.*", "--skip-version-check", "--watch", "/policies", OPA_AUTHZ_DIR],
                resources: { requests: { cpu: "25m", memory: "64Mi" }, limits: { memory: "256Mi" } },
                securityContext: hardened,
                volumeMounts: [
                  { name: "policies", mountPath: "/policies", readOnly: true },
                  { name: "opa-authz", mountPath: OPA_AUTHZ_DIR, readOnly: true },
                ],
              },
            ],
            volumes: [
              { name: "config", configMap: { name: configMap } },
              { name: "policies", configMap: { name: policies } },
              // 0440 with the pod's fsGroup 1000: readable by the STS only (the STS refuses a
              // keys file readable by others or by a group it is not in). Mounted only into the
              // sts container.
              { name: "keys", secret: { secretName: stsKeysSecret(cell), defaultMode: 0o440 } },
              // One Secret, two projections: each container sees only its own key.
              { name: "opa-token", secret: { secretName: stsOpaSecret(cell), defaultMode: 0o440, items: [{ key: OPA_AUTH_TOKEN_KEY, path: OPA_AUTH_TOKEN_KEY }] } },
              { name: "opa-authz", secret: { secretName: stsOpaSecret(cell), defaultMode: 0o440, items: [{ key: OPA_AUTH_POLICY_KEY, path: OPA_AUTH_POLICY_KEY }] } },
              { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
            ],
          },
        },
      },
    })),
    checked(`poddisruptionbudget-${name}`, new PodDisruptionBudget({
      metadata: { name, namespace: ns, labels },
      // maxUnavailable (not minAvailable): with replicas 1 a drain is still possible.
      spec: { maxUnavailable: 1, selector: { matchLabels: { app: name } } },
    })),
    checked(`service-${name}`, new Service({
      metadata: { name, namespace: ns, labels },
      spec: { selector: { app: name }, ports: [{ name: "http", port: cell.sts.port, targetPort: "http", appProtocol: "http" }] },
    })),
    checked(`sidecar-${name}`, new Sidecar({
      metadata: { name, namespace: ns, labels },
      spec: {
        workloadSelector: { labels: { app: name } },
        ingress: [{ port: { number: cell.sts.port, protocol: "HTTP", name: "http" }, defaultEndpoint: `127.0.0.1:${cell.sts.port}` }],
      },
    })),
  ];
}
