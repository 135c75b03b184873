// Starts real OPA and STS processes for tests and demos: each on 127.0.0.1 with an ephemeral
// port, each in its own temp dir, each with a stop() that kills the process and removes the dir.
//
//   const cell = await startCell({ cell: "reviews" });      // OPA (default policies) + STS
//   cell.sts.url, cell.opa.url, cell.sts.jwksUri ... await cell.stop();
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";

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
  /** The current OPA process (replaced by restart()). */
  readonly child: ChildProcess;
  output(): string;
  /** Kills OPA (SIGKILL unless told otherwise) but keeps its policy dir: for fault tests. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts OPA again on the same port and policy dir (kills it first if running). */
  restart(): Promise<void>;
  /** Stops OPA and removes its policy dir. */
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

/** Starts `opa run --server --watch` on a temp copy of `policies` (dirs or .rego files). */
export async function startOpa(opts: { policies?: string[] } = {}): Promise<OpaProcess> {
  const policyDir = mkdtempSync(join(tmpdir(), "cellauth-opa-"));
  for (const src of opts.policies ?? [defaultPolicyDir]) {
    if (statSync(src).isDirectory()) cpSync(src, policyDir, { recursive: true });
    else cpSync(src, join(policyDir, basename(src)));
  }
  let out = "";
  const spawnOpa = (port: number) => {
    const c = spawn(
      opaBin,
      ["run", "--server", "--addr", `127.0.0.1:${port}`, "--watch", "--skip-version-check", "--log-level", "error", policyDir],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    c.stdout!.on("data", (d) => (out += d));
    c.stderr!.on("data", (d) => (out += d));
    return c;
  };
  let child = spawnOpa(0);
  const stop = async () => {
    await stopChild(child);
    rmSync(policyDir, { recursive: true, force: true });
  };
  try {
    const port = await waitFor("OPA to listen", () => {
      if (child.exitCode !== null) throw new Error(`opa exited: ${out.slice(0, 500)}`);
      return listeningPort(child.pid!);
    });
    const url = `http://127.0.0.1:${port}`;
    await waitHealthy(url, "OPA health");
    return {
      url,
      port,
      policyDir,
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

export interface StsProcess {
  url: string;
  port: number;
  jwksUri: string;
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

export interface StartStsOptions {
  cell: string;
  namespace?: string;
  /** Extra config fields (merged over cell, namespace, keysDir, port 0, fast config polling). */
  config?: Record<string, unknown>;
  /** Reuse a key directory (e.g. across STS instances); by default a fresh temp dir. */
  keysDir?: string;
}

export async function startSts(opts: StartStsOptions): Promise<StsProcess> {
  const dir = mkdtempSync(join(tmpdir(), `cellauth-sts-${opts.cell}-`));
  const keysDir = opts.keysDir ?? join(dir, "keys");
  const configPath = join(dir, "sts.json");
  let config: Record<string, unknown> = {
    version: "v1",
    cell: opts.cell,
    namespace: opts.namespace ?? "default",
    port: 0,
    keysDir,
    configPollMs: 100,
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
  try {
    const port = await listening(0);
    const url = `http://127.0.0.1:${port}`;
    return {
      url,
      port,
      jwksUri: `${url}/.well-known/jwks.json`,
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

/** OPA (default policies unless given) plus an STS wired to it. */
export async function startCell(opts: StartStsOptions & { policies?: string[] }): Promise<CellProcesses> {
  const opa = await startOpa({ policies: opts.policies });
  try {
    const extraOpa = (opts.config?.opa ?? {}) as Record<string, unknown>;
    const sts = await startSts({ ...opts, config: { ...opts.config, opa: { url: opa.url, ...extraOpa } } });
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
