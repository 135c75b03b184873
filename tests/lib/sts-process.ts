// Starts real OPA and STS processes for tests and demos: each on 127.0.0.1 with an ephemeral
// port, each in its own temp dir, each with a stop() that kills the process and removes the dir.
// An STS terminates mutual TLS by default with its own SVID from a SpiffeCa (the process-wide
// sharedCa() unless one is given), so callers need a client certificate: use sts.fetchAs.
//
//   const cell = await startCell({ cell: "reviews" });      // OPA (default policies) + STS
//   cell.sts.url (https), cell.opa.url, cell.sts.jwksUri ... await cell.stop();
//   const res = await cell.sts.fetchAs("reviews-service", "/token", { method: "POST", headers, body });
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync, statSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { SpiffeCa, type Svid } from "./spiffe-ca.ts";
import { OPA_AUTH_ARGS, newOpaToken, opaAuthzPolicy } from "../../sts/opa-auth.ts";
import { queryOpa, type OpaAnswer } from "../../sts/opa.ts";

export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
export const opaBin = join(repoRoot, ".tools/bin/opa");
export const defaultPolicyDir = join(repoRoot, "policies/default");
export const seedPolicyDir = join(repoRoot, "policies/seed");
const stsMain = join(repoRoot, "sts/main.ts");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every `everyMs` until it returns a value, at most `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** The TCP port a process listens on, read from /proc (OPA does not print a port bound as :0). */
function listeningPort(pid: number): number | undefined {
  let inodes: Set<string>;
  try {
    inodes = new Set(
      readdirSync(`/proc/${pid}/fd`)
        .map((fd) => {
          try {
            return readlinkSync(`/proc/${pid}/fd/${fd}`);
          } catch {
            return "";
          }
        })
        .filter((l) => l.startsWith("socket:["))
        .map((l) => l.slice(8, -1)),
    );
  } catch {
    return undefined;
  }
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || cols[3] !== "0A") continue; // 0A = LISTEN
      if (inodes.has(cols[9])) return parseInt(cols[1].split(":")[1], 16);
    }
  }
  return undefined;
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
  await exited;
  clearTimeout(timer);
}

export interface OpaProcess {
  url: string;
  port: number;
  /** The watched policy directory (a temp copy): write a .rego here and OPA reloads it. */
  policyDir: string;
  /** The bearer token this OPA's system.authz policy accepts for decision queries (random per instance). */
  token: string;
  /** A file (0600) holding `token`: the STS's opa.tokenFile. */
  tokenFile: string;
  /** What an STS config's `opa` needs to reach this OPA: `{ url, tokenFile }`. */
  stsConfig: { url: string; tokenFile: string };
  /** POST /v1/data/<path> with the token, through the STS's own client (sts/opa.ts). */
  query(path: string, input: unknown): Promise<OpaAnswer>;
  /** The current OPA process (replaced by restart()). */
  readonly child: ChildProcess;
  output(): string;
  /** Kills OPA (SIGKILL unless told otherwise) but keeps its policy dir: for fault tests. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts OPA again on the same port and policy dir (kills it first if running). */
  restart(): Promise<void>;
  /** Stops OPA and removes its temp dir (policies, authz policy, token file). */
  stop(): Promise<void>;
}

async function waitHealthy(url: string, what: string): Promise<void> {
  await waitFor(what, async () => {
    try {
      const res = await fetch(`${url}/health`);
      await res.arrayBuffer();
      return res.status === 200 || undefined;
    } catch {
      return undefined;
    }
  });
}

/**
 * Starts `opa run --server --watch` on a temp copy of `policies` (dirs or .rego files), locked
 * down as in production: token authentication and a system.authz policy (sts/opa-auth.ts) that
 * lets only the STS's decision queries (with `token`) and GET /health through. `queryPrefix` is
 * the STS's OPAQueryPrefix (default "cellery/io").
 */
export async function startOpa(opts: { policies?: string[]; queryPrefix?: string } = {}): Promise<OpaProcess> {
  const dir = mkdtempSync(join(tmpdir(), "cellauth-opa-"));
  const policyDir = join(dir, "policies");
  mkdirSync(policyDir);
  for (const src of opts.policies ?? [defaultPolicyDir]) {
    if (statSync(src).isDirectory()) cpSync(src, policyDir, { recursive: true });
    else cpSync(src, join(policyDir, basename(src)));
  }
  // The authz policy lives outside policyDir, so tests that rewrite policyDir cannot touch it.
  const token = newOpaToken();
  const authzDir = join(dir, "authz");
  mkdirSync(authzDir);
  writeFileSync(join(authzDir, "system-authz.rego"), opaAuthzPolicy({ queryPrefix: opts.queryPrefix ?? "cellery/io", token }));
  const tokenFile = join(dir, "opa-token");
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  let out = "";
  const spawnOpa = (port: number) => {
    const c = spawn(
      opaBin,
      ["run", "--server", "--addr", `127.0.0.1:${port}`, ...OPA_AUTH_ARGS, "--watch", "--skip-version-check", "--log-level", "error", policyDir, authzDir],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    c.stdout!.on("data", (d) => (out += d));
    c.stderr!.on("data", (d) => (out += d));
    return c;
  };
  let child = spawnOpa(0);
  const stop = async () => {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const port = await waitFor("OPA to listen", () => {
      if (child.exitCode !== null) throw new Error(`opa exited: ${out.slice(0, 500)}`);
      return listeningPort(child.pid!);
    });
    const url = `http://127.0.0.1:${port}`;
    await waitHealthy(url, "OPA health");
    // The STS's own OPA client, with this OPA's token.
    const query = (path: string, input: unknown) => queryOpa(url, path, input, 5000, token);
    return {
      url,
      port,
      policyDir,
      token,
      tokenFile,
      stsConfig: { url, tokenFile },
      query,
      get child() {
        return child;
      },
      output: () => out,
      kill: (signal = "SIGKILL") => stopChild(child, signal),
      async restart() {
        await stopChild(child);
        child = spawnOpa(port);
        await waitHealthy(url, "restarted OPA health");
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** What a test request carries: method, headers, a string (or form) body, a timeout. */
export interface FetchInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | URLSearchParams;
  timeoutMs?: number;
}

/** Client TLS material for httpsFetch: a client certificate (optional) and the CA to verify the server. */
export interface ClientTls {
  cert?: string;
  key?: string;
  ca: string;
}

/**
 * A fetch over node:http / node:https (no undici), presenting `tls.cert`/`tls.key` when given
 * and verifying the server against `tls.ca`. Resolves with a WHATWG Response; rejects when the
 * connection or the TLS handshake fails.
 */
export function httpsFetch(url: string, init: FetchInit = {}, tls?: ClientTls): Promise<Response> {
  const body = init.body === undefined ? undefined : String(init.body);
  const u = new URL(url);
  const secure = u.protocol === "https:";
  return new Promise((resolve, reject) => {
    const options = {
      method: init.method ?? (body === undefined ? "GET" : "POST"),
      headers: { ...(body !== undefined ? { "content-length": String(Buffer.byteLength(body)) } : {}), ...init.headers },
      timeout: init.timeoutMs ?? 15_000,
      ...(secure && tls ? { ca: tls.ca, cert: tls.cert, key: tls.key } : {}),
    };
    const req = (secure ? httpsRequest : httpRequest)(u, options, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          if (typeof v === "string") headers.set(k, v);
          else if (Array.isArray(v)) for (const x of v) headers.append(k, x);
        }
        const status = res.statusCode ?? 500;
        const nullBody = status === 204 || status === 205 || status === 304;
        resolve(new Response(nullBody ? null : Buffer.concat(chunks), { status, headers }));
      });
    });
    req.on("timeout", () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
    req.end(body);
  });
}

let shared: Promise<SpiffeCa> | undefined;
/** One SpiffeCa (trust domain cluster.local) per process, in a temp dir removed at exit. */
export function sharedCa(): Promise<SpiffeCa> {
  if (!shared) {
    const dir = mkdtempSync(join(tmpdir(), "cellauth-ca-"));
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    shared = SpiffeCa.create(dir);
  }
  return shared;
}

/**
 * Who makes a request in fetchAs: a service account name (in the STS's namespace), any SVID
 * (another namespace or trust domain), `{ namespace, sa }`, or null for no client certificate.
 */
export type Caller = string | Svid | { namespace: string; sa: string } | null;

export interface StsProcess {
  /** https://127.0.0.1:<port> (http:// in "xfcc" and "none" identity modes). */
  url: string;
  port: number;
  jwksUri: string;
  /** The CA that issued the STS's SVID and issues callers' SVIDs. */
  ca: SpiffeCa;
  /** The STS's own SVID: spiffe://<td>/ns/<namespace>/sa/<cell>--sts-service. */
  svid: Svid;
  identity: StsIdentityMode;
  /** An SVID of `sa` in `namespace` (default the STS's), issued once and cached. */
  workload(sa: string, namespace?: string): Promise<Svid>;
  /**
   * A request to the STS as `caller`: over mTLS with the caller's client certificate ("mtls"
   * mode), or over plain HTTP with the x-forwarded-client-cert its sidecar would set ("xfcc").
   */
  fetchAs(caller: Caller, path: string, init?: FetchInit): Promise<Response>;
  configPath: string;
  keysDir: string;
  /** The config as written (with defaults left to the STS). */
  readonly config: Record<string, unknown>;
  /** The current STS process (replaced by restart()). */
  readonly child: ChildProcess;
  /** Everything the processes wrote to stdout and stderr so far. */
  logs(): string;
  /** Parsed JSON log lines. */
  logEntries(): Record<string, unknown>[];
  /** Rewrites the config file with `patch` merged in; the STS hot-reloads it. */
  updateConfig(patch: Record<string, unknown>): void;
  /** updateConfig, then waits for the STS to apply or reject it. */
  applyConfig(patch: Record<string, unknown>): Promise<"applied" | "rejected">;
  /** Kills the STS (SIGKILL unless told otherwise) but keeps its config and keys: for fault tests. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the STS again on the same port with the same keys (kills it first if running). */
  restart(): Promise<void>;
  /** Stops the STS and removes its temp dir (config, and keys unless keysDir was given). */
  stop(): Promise<void>;
}

/**
 * "mtls" (default): the STS terminates mutual TLS with its SVID (config `tls`).
 * "xfcc": plain HTTP, `peerIdentity: "xfcc"` (as behind an Istio sidecar).
 * "none": plain HTTP and no caller authentication (/token, /authorize, /admin answer 401).
 */
export type StsIdentityMode = "mtls" | "xfcc" | "none";

export interface StartStsOptions {
  cell: string;
  namespace?: string;
  /** Extra config fields (merged over cell, namespace, keysDir, port 0, fast config polling, tls). */
  config?: Record<string, unknown>;
  /** Reuse a key directory (e.g. across STS instances); by default a fresh temp dir. */
  keysDir?: string;
  /** The trust domain's CA; default sharedCa(). STSs that trust each other must share one. */
  ca?: SpiffeCa;
  /** Default "mtls". */
  identity?: StsIdentityMode;
}

export async function startSts(opts: StartStsOptions): Promise<StsProcess> {
  const ca = opts.ca ?? (await sharedCa());
  const identity = opts.identity ?? "mtls";
  const namespace = opts.namespace ?? "default";
  const dir = mkdtempSync(join(tmpdir(), `cellauth-sts-${opts.cell}-`));
  const keysDir = opts.keysDir ?? join(dir, "keys");
  const configPath = join(dir, "sts.json");
  // The STS's own SVID, copied into its dir so that another STS of the same name cannot replace it.
  const svid = await ca.issue(namespace, `${opts.cell}--sts-service`);
  const tlsDir = join(dir, "tls");
  mkdirSync(tlsDir, { mode: 0o700 });
  const tls = { certFile: join(tlsDir, "sts.crt"), keyFile: join(tlsDir, "sts.key"), caFile: join(tlsDir, "ca.pem") };
  writeFileSync(tls.certFile, svid.certPem, { mode: 0o644 });
  writeFileSync(tls.keyFile, svid.keyPem, { mode: 0o600 });
  writeFileSync(tls.caFile, ca.caPem, { mode: 0o644 });
  let config: Record<string, unknown> = {
    version: "v1",
    cell: opts.cell,
    namespace,
    port: 0,
    keysDir,
    configPollMs: 100,
    ...(ca.trustDomain !== "cluster.local" ? { trustDomain: ca.trustDomain } : {}),
    ...(identity === "mtls" ? { tls } : identity === "xfcc" ? { peerIdentity: "xfcc" } : {}),
    ...opts.config,
  };
  const updateConfig = (patch: Record<string, unknown>) => {
    config = { ...config, ...patch };
    writeFileSync(configPath, JSON.stringify(config, null, 2));
  };
  updateConfig({});
  let out = "";
  const spawnSts = () => {
    const c = spawn(process.execPath, ["--import", "tsx", stsMain, "--config", configPath], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
    });
    c.stdout!.on("data", (d) => (out += d));
    c.stderr!.on("data", (d) => (out += d));
    return c;
  };
  const logEntries = () =>
    out
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return {};
        }
      });
  const reloadOutcomes = () =>
    logEntries()
      .map((e) => (e.msg === "config reloaded" ? "applied" : String(e.msg).startsWith("config reload rejected") ? "rejected" : undefined))
      .filter((x): x is "applied" | "rejected" => x !== undefined);
  const listening = (after: number) =>
    waitFor("STS to listen", () => {
      if (child.exitCode !== null) throw new Error(`sts exited (${child.exitCode}): ${out.slice(-1000)}`);
      const line = logEntries().filter((e) => e.msg === "listening")[after];
      return line ? (line.port as number) : undefined;
    }, 30_000);
  let child = spawnSts();
  const stop = async () => {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  };
  const svids = new Map<string, Promise<Svid>>();
  const workload = (sa: string, ns = namespace) => {
    const key = `${ns}/${sa}`;
    if (!svids.has(key)) svids.set(key, ca.issue(ns, sa));
    return svids.get(key)!;
  };
  try {
    const port = await listening(0);
    const url = `${identity === "mtls" ? "https" : "http"}://127.0.0.1:${port}`;
    const fetchAs = async (caller: Caller, path: string, init: FetchInit = {}) => {
      const who = caller === null ? undefined : typeof caller === "string" ? await workload(caller) : "certPem" in caller ? caller : await workload(caller.sa, caller.namespace);
      if (identity === "mtls") return httpsFetch(`${url}${path}`, init, { ca: ca.caPem, cert: who?.certPem, key: who?.keyPem });
      const headers = { ...init.headers };
      // What the STS's own sidecar would set after verifying the caller (Envoy SANITIZE_SET).
      if (identity === "xfcc" && who) headers["x-forwarded-client-cert"] = `By=${svid.spiffeId};Hash=${who.thumbprint};URI=${who.spiffeId}`;
      return httpsFetch(`${url}${path}`, { ...init, headers });
    };
    return {
      url,
      port,
      jwksUri: `${url}/.well-known/jwks.json`,
      ca,
      svid,
      identity,
      workload,
      fetchAs,
      configPath,
      keysDir,
      get config() {
        return config;
      },
      get child() {
        return child;
      },
      logs: () => out,
      logEntries,
      updateConfig,
      async applyConfig(patch) {
        const seen = reloadOutcomes().length;
        // The STS polls mtime and size; a same-size rewrite within one mtime tick would be missed.
        await sleep(20);
        updateConfig(patch);
        return waitFor("config reload", () => reloadOutcomes()[seen], 10_000);
      },
      kill: (signal = "SIGKILL") => stopChild(child, signal),
      async restart() {
        await stopChild(child);
        const starts = logEntries().filter((e) => e.msg === "listening").length;
        updateConfig({ port });
        child = spawnSts();
        await listening(starts);
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

export interface CellProcesses {
  opa: OpaProcess;
  sts: StsProcess;
  stop(): Promise<void>;
}

/** OPA (default policies unless given) plus an STS wired to it (its URL and token file). */
export async function startCell(opts: StartStsOptions & { policies?: string[] }): Promise<CellProcesses> {
  const opa = await startOpa({ policies: opts.policies, queryPrefix: opts.config?.OPAQueryPrefix as string | undefined });
  try {
    const extraOpa = (opts.config?.opa ?? {}) as Record<string, unknown>;
    const sts = await startSts({ ...opts, config: { ...opts.config, opa: { ...opa.stsConfig, ...extraOpa } } });
    return {
      opa,
      sts,
      stop: async () => {
        await sts.stop();
        await opa.stop();
      },
    };
  } catch (e) {
    await opa.stop();
    throw e;
  }
}
