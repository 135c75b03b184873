// A real Kubernetes control plane on loopback for tests: kine (the etcd API over SQLite),
// kube-apiserver (static token, service-account key pair, RBAC) and, optionally, istiod
// (pilot-discovery) with Istio's CRDs applied. Everything binds 127.0.0.1, lives in one temp
// dir, and stop() leaves no process and no directory behind.
// The binaries come from scripts/install-k8s.sh (cached in .tools/bin); k8sSkipReason() says why
// a test cannot run when they are missing.
import { spawn, type ChildProcess } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { execFileSync } from "node:child_process";
import { parseAllDocuments } from "yaml";
import { freePort } from "./ports.ts";

export const repoRoot = resolve(import.meta.dirname, "../..");
const toolsDir = join(repoRoot, ".tools");
export const kineBin = join(toolsDir, "bin/kine");
export const kubeApiserverBin = join(toolsDir, "bin/kube-apiserver");
export const pilotDiscoveryBin = join(toolsDir, "bin/pilot-discovery");
/** The istio.io/istio pseudo-version istioctl and pilot-discovery are built from (install-istioctl.sh). */
export const ISTIO_MODULE_VERSION = "v0.0.0-20260827124520-eed52ebb66ad";

/** Why the control plane cannot start here (a missing or failed build), or false. */
export function k8sSkipReason(opts: { istiod?: boolean; crds?: boolean } = {}): string | false {
  const names = ["kine", "kube-apiserver", ...(opts.istiod ? ["pilot-discovery"] : [])];
  for (const n of names) {
    if (existsSync(join(toolsDir, "bin", n))) continue;
    const why = join(toolsDir, `${n}.unavailable`);
    if (existsSync(why)) return `${n} could not be built: ${readFileSync(why, "utf8").split("\n").slice(0, 3).join(" | ")}`;
    return `${n} is not built: run scripts/install-k8s.sh once (a cached Go build)`;
  }
  if ((opts.istiod || opts.crds) && !istioCrdFile()) return `Istio's CRDs are not in the Go module cache: go mod download istio.io/istio@${ISTIO_MODULE_VERSION}`;
  return false;
}

let crdPath: string | null | undefined;
/** manifests/charts/base/files/crd-all.gen.yaml of the pinned istio module (Go module cache). */
export function istioCrdFile(): string | null {
  if (crdPath !== undefined) return crdPath;
  crdPath = null;
  try {
    const modcache = execFileSync("go", ["env", "GOMODCACHE"], { encoding: "utf8" }).trim();
    const f = join(modcache, `istio.io/istio@${ISTIO_MODULE_VERSION}`, "manifests/charts/base/files/crd-all.gen.yaml");
    if (existsSync(f)) crdPath = f;
  } catch { /* no go */ }
  return crdPath;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const live = new Set<ChildProcess>();
process.once("exit", () => { for (const p of live) try { p.kill("SIGKILL"); } catch { /* gone */ } });

interface Proc { name: string; child: ChildProcess; log: string; exited?: { code: number | null; signal: string | null }; done: Promise<void> }

function startProc(name: string, bin: string, args: string[], opts: { cwd: string; env?: Record<string, string>; log: string }): Proc {
  const fd = openSync(opts.log, "w");
  const child = spawn(bin, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ["ignore", fd, fd] });
  closeSync(fd);
  live.add(child);
  const p: Proc = { name, child, log: opts.log, done: Promise.resolve() };
  p.done = new Promise((res) => child.once("exit", (code, signal) => { p.exited = { code, signal }; live.delete(child); res(); }));
  return p;
}

async function stopProc(p: Proc): Promise<void> {
  if (p.exited) return;
  p.child.kill("SIGTERM");
  await Promise.race([p.done, sleep(10_000)]);
  if (!p.exited) { p.child.kill("SIGKILL"); await p.done; }
}

function tail(file: string, n = 30): string {
  try { return readFileSync(file, "utf8").split("\n").slice(-n).join("\n"); } catch { return ""; }
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect({ host: "127.0.0.1", port });
    s.once("connect", () => { s.destroy(); res(true); });
    s.once("error", () => res(false));
  });
}

async function until<T>(what: string, p: Proc, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; ; i++) {
    if (p.exited) throw new Error(`${p.name} exited (${p.exited.code ?? p.exited.signal}) before ${what}:\n${tail(p.log)}`);
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${tail(p.log)}`);
    await sleep(Math.min(100 + i * 50, 500));
  }
}

export interface K8sObject { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; [k: string]: unknown }; [k: string]: unknown }

export class K8sError extends Error {
  constructor(readonly status: number, readonly body: any, what: string) {
    super(`${what}: HTTP ${status}: ${body?.message ?? JSON.stringify(body)}`);
  }
}

/** A minimal API client: bearer token, the server's own CA, JSON in and out, discovery for paths. */
export class K8sClient {
  private resources = new Map<string, { plural: string; namespaced: boolean }>();
  constructor(readonly server: string, readonly token: string, readonly ca: string) {}

  request(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<{ status: number; body: any }> {
    const u = new URL(path, this.server);
    const data = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    return new Promise((res, rej) => {
      const req = httpsRequest(u, {
        method,
        ca: this.ca,
        headers: {
          authorization: `Bearer ${this.token}`,
          accept: "application/json",
          ...(data !== undefined ? { "content-type": contentType, "content-length": Buffer.byteLength(data) } : {}),
        },
        timeout: 30_000,
      }, (r) => {
        const chunks: Buffer[] = [];
        r.on("data", (c: Buffer) => chunks.push(c));
        r.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: unknown = text;
          try { parsed = JSON.parse(text); } catch { /* not JSON */ }
          res({ status: r.statusCode ?? 0, body: parsed });
        });
      });
      req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on("error", rej);
      req.end(data);
    });
  }

  /** Plural and scope of a kind, from API discovery (cached; refreshed once on a miss, e.g. after CRDs). */
  async resource(apiVersion: string, kind: string): Promise<{ plural: string; namespaced: boolean }> {
    const key = `${apiVersion}/${kind}`;
    if (!this.resources.has(key)) {
      const r = await this.request("GET", apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`);
      if (r.status === 200) {
        for (const res of r.body.resources ?? []) {
          if (!res.name.includes("/")) this.resources.set(`${apiVersion}/${res.kind}`, { plural: res.name, namespaced: res.namespaced });
        }
      }
    }
    const found = this.resources.get(key);
    if (!found) throw new Error(`the API server does not serve ${kind} in ${apiVersion}`);
    return found;
  }

  async path(obj: K8sObject, withName = true): Promise<string> {
    const { plural, namespaced } = await this.resource(obj.apiVersion, obj.kind);
    const base = obj.apiVersion.includes("/") ? `/apis/${obj.apiVersion}` : `/api/${obj.apiVersion}`;
    const ns = namespaced ? `/namespaces/${obj.metadata.namespace ?? "default"}` : "";
    return `${base}${ns}/${plural}${withName ? `/${obj.metadata.name}` : ""}`;
  }

  /**
   * Server-side apply (create or update) with strict field validation: an unknown or misplaced
   * field is an error, as is anything the type's schema (built-in or CRD) refuses.
   */
  async apply(obj: K8sObject, opts: { dryRun?: boolean; fieldManager?: string } = {}): Promise<K8sObject> {
    const q = new URLSearchParams({ fieldManager: opts.fieldManager ?? "cellauth-test", force: "true", fieldValidation: "Strict" });
    if (opts.dryRun) q.set("dryRun", "All");
    const r = await this.request("PATCH", `${await this.path(obj)}?${q}`, obj, "application/apply-patch+yaml");
    if (r.status !== 200 && r.status !== 201) throw new K8sError(r.status, r.body, `apply ${obj.kind} ${obj.metadata.namespace ?? ""}/${obj.metadata.name}`);
    return r.body;
  }

  async get(obj: K8sObject): Promise<K8sObject | undefined> {
    const r = await this.request("GET", await this.path(obj));
    if (r.status === 404) return undefined;
    if (r.status !== 200) throw new K8sError(r.status, r.body, `get ${obj.kind} ${obj.metadata.name}`);
    return r.body;
  }

  async delete(obj: K8sObject): Promise<void> {
    const r = await this.request("DELETE", await this.path(obj));
    if (r.status !== 200 && r.status !== 202 && r.status !== 404) throw new K8sError(r.status, r.body, `delete ${obj.kind} ${obj.metadata.name}`);
  }

  /** Applies CRDs and waits until each is Established (so its kind is served). */
  async applyCrds(crds: K8sObject[], timeoutMs = 60_000): Promise<void> {
    for (const c of crds) await this.apply(c);
    const deadline = Date.now() + timeoutMs;
    for (const c of crds) {
      for (;;) {
        const got = await this.get(c) as any;
        if (got?.status?.conditions?.some((x: any) => x.type === "Established" && x.status === "True")) break;
        if (Date.now() > deadline) throw new Error(`CRD ${c.metadata.name} not Established`);
        await sleep(200);
      }
    }
    this.resources.clear();
  }
}

/** Every object of a multi-document YAML text (empty documents dropped). */
export function yamlObjects(text: string): K8sObject[] {
  return parseAllDocuments(text).map((d) => d.toJS()).filter((o) => o && typeof o === "object" && o.kind);
}

export interface Istiod {
  /** Plaintext xDS (ADS) port, for Envoy's bootstrap. */
  grpcPort: number;
  /** istiod's HTTP port (/ready, /debug/...). */
  httpPort: number;
  log(): string;
}

export interface ControlPlane {
  dir: string;
  client: K8sClient;
  server: string;
  kubeconfig: string;
  istiod?: Istiod;
  /** How long each start-up step took (ms), in order: shows where a slow machine spends it. */
  phases: Record<string, number>;
  logs(): Record<string, string>;
  stop(): Promise<void>;
}

export interface ControlPlaneOptions {
  /** Apply Istio's CRDs (crd-all.gen.yaml of the pinned istio module). */
  crds?: boolean;
  /** Start istiod too (implies crds; creates istio-system first). */
  istiod?: boolean;
  /** Extra env for istiod (merged over the upstream-Envoy defaults below). */
  istiodEnv?: Record<string, string>;
  startTimeoutMs?: number;
}

/**
 * istiod settings that keep its output within upstream Envoy (no istio-proxy extensions) and
 * let a gateway work without pilot-agent: see docs/istio.md, "istiod and upstream Envoy".
 */
export const UPSTREAM_ENVOY_ISTIOD_ENV: Record<string, string> = {
  PILOT_ENABLE_METADATA_EXCHANGE: "false",
  PILOT_ENABLE_ALPN_FILTER: "false",
  PILOT_FILTER_GATEWAY_CLUSTER_CONFIG: "true",
};

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const why = k8sSkipReason({ istiod: opts.istiod, crds: opts.crds });
  if (why) throw new Error(why);
  // kine's SQLite commits every write with fsync; on a slow CI disk the API server's start-up
  // (a few hundred bootstrap writes) took over two minutes. Memory-backed storage when there is any.
  const dir = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "cellauth-k8s-"));
  const procs: Proc[] = [];
  // Generous: a loaded 2-core machine; every wait also ends at once if its process exits.
  const timeout = opts.startTimeoutMs ?? 300_000;
  const stop = async () => {
    for (const p of [...procs].reverse()) await stopProc(p);
    rmSync(dir, { recursive: true, force: true });
  };
  const phases: Record<string, number> = {};
  let mark = Date.now();
  const phase = (name: string) => { const now = Date.now(); phases[name] = now - mark; mark = now; };
  try {
    // kine: SQLite in the temp dir (its default ./db/state.db, relative to cwd).
    const kinePort = await freePort();
    const kine = startProc("kine", kineBin, [
      "--listen-address", `127.0.0.1:${kinePort}`,
      "--metrics-bind-address", `127.0.0.1:${await freePort()}`,
    ], { cwd: dir, log: join(dir, "kine.log") });
    procs.push(kine);
    await until("kine to listen", kine, timeout, async () => (await tcpOpen(kinePort)) || undefined);
    phase("kine");

    // kube-apiserver: static token (system:masters), a service-account key pair, RBAC.
    const token = randomBytes(24).toString("hex");
    writeFileSync(join(dir, "tokens.csv"), `${token},cellauth-admin,cellauth-admin,"system:masters"\n`);
    const sa = generateKeyPairSync("rsa", { modulusLength: 2048 });
    writeFileSync(join(dir, "sa.key"), sa.privateKey.export({ type: "pkcs1", format: "pem" }));
    writeFileSync(join(dir, "sa.pub"), sa.publicKey.export({ type: "spki", format: "pem" }));
    const certDir = join(dir, "pki");
    mkdirSync(certDir);
    const apiPort = await freePort();
    const apiserver = startProc("kube-apiserver", kubeApiserverBin, [
      `--etcd-servers=http://127.0.0.1:${kinePort}`,
      "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", `--secure-port=${apiPort}`,
      `--cert-dir=${certDir}`,
      `--token-auth-file=${join(dir, "tokens.csv")}`,
      "--authorization-mode=RBAC",
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-account-key-file=${join(dir, "sa.pub")}`,
      `--service-account-signing-key-file=${join(dir, "sa.key")}`,
      "--service-cluster-ip-range=10.96.0.0/16",
      // No controller manager or kubelet: the `kubernetes` Endpoints would carry 127.0.0.1,
      // which Endpoints validation refuses, so the reconciler is off.
      "--endpoint-reconciler-type=none",
      "--enable-priority-and-fairness=false",
      "--profiling=false",
    ], { cwd: dir, log: join(dir, "kube-apiserver.log") });
    procs.push(apiserver);
    const server = `https://127.0.0.1:${apiPort}`;
    const caFile = join(certDir, "apiserver.crt");
    await until("the kube-apiserver serving certificate", apiserver, timeout, async () => existsSync(caFile) || undefined);
    const client = new K8sClient(server, token, readFileSync(caFile, "utf8"));
    await until("kube-apiserver /readyz", apiserver, timeout, async () => {
      const r = await client.request("GET", "/readyz");
      return r.status === 200 || undefined;
    }).catch(async (e: Error) => {
      // Say which readiness checks were still failing, not only the log's tail.
      const v = await client.request("GET", "/readyz?verbose").catch(() => undefined);
      const failing = typeof v?.body === "string" ? v.body.split("\n").filter((l: string) => /failed/.test(l)).join("\n") : "";
      throw new Error(`${e.message}\nfailing readiness checks:\n${failing || "(none reported)"}`);
    });
    phase("kube-apiserver");

    const kubeconfig = join(dir, "kubeconfig");
    writeFileSync(kubeconfig, JSON.stringify({
      apiVersion: "v1", kind: "Config", "current-context": "local",
      clusters: [{ name: "local", cluster: { server, "certificate-authority": caFile } }],
      users: [{ name: "admin", user: { token } }],
      contexts: [{ name: "local", context: { cluster: "local", user: "admin", namespace: "default" } }],
    }));

    if (opts.crds || opts.istiod) { await client.applyCrds(yamlObjects(readFileSync(istioCrdFile()!, "utf8"))); phase("crds"); }
    let istiod: Istiod | undefined;
    if (opts.istiod) {
      await client.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: "istio-system" } });
      const mesh = join(dir, "mesh.yaml");
      const [httpPort, grpcPort, secureGrpcPort, httpsPort, monitoringPort, ctrlzPort] =
        await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort()]);
      writeFileSync(mesh, JSON.stringify({ trustDomain: "cluster.local", defaultConfig: { discoveryAddress: `127.0.0.1:${secureGrpcPort}` } }));
      const p = startProc("istiod", pilotDiscoveryBin, [
        "discovery",
        `--kubeconfig=${kubeconfig}`, `--meshConfig=${mesh}`, `--networksConfig=${join(dir, "no-networks.yaml")}`,
        `--httpAddr=127.0.0.1:${httpPort}`, `--grpcAddr=127.0.0.1:${grpcPort}`, `--secureGRPCAddr=127.0.0.1:${secureGrpcPort}`,
        `--httpsAddr=127.0.0.1:${httpsPort}`, `--monitoringAddr=127.0.0.1:${monitoringPort}`,
        "--ctrlz_address=127.0.0.1", `--ctrlz_port=${ctrlzPort}`,
        "--domain=cluster.local", "--clusterID=Kubernetes", "--keepaliveMaxServerConnectionAge=30m",
        "--log_output_level=default:info",
      ], {
        cwd: dir,
        log: join(dir, "istiod.log"),
        env: {
          POD_NAMESPACE: "istio-system", POD_NAME: "istiod-cellauth-test", REVISION: "default",
          ...UPSTREAM_ENVOY_ISTIOD_ENV, ...opts.istiodEnv,
        },
      });
      procs.push(p);
      await until("istiod /ready", p, timeout, async () => {
        const r = await fetch(`http://127.0.0.1:${httpPort}/ready`, { signal: AbortSignal.timeout(2000) });
        return r.status === 200 || undefined;
      });
      istiod = { grpcPort, httpPort, log: () => tail(p.log, 100_000) };
      phase("istiod");
    }

    return {
      dir, client, server, kubeconfig, istiod, phases,
      logs: () => Object.fromEntries(procs.map((p) => [p.name, tail(p.log, 40)])),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
