// The cell definition (cell.yaml): what one cell is made of, read strictly. Unknown keys are
// errors (a typo must not silently drop a security setting), and every error names the field
// and the line.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { CellError, fieldName, YamlSource, type Path } from "./yaml-source.ts";
import { parseIstioPath } from "./paths.ts";

export interface Service {
  name: string;
  port: number;
  /** Istio AuthorizationPolicy path syntax: exact, "/prefix*", or a template with {*} / {**}. */
  paths: string[];
  methods: string[];
}

export interface Peer { cell: string; namespace: string; /** The peer STS's Service port (default 8080). */ stsPort: number }

export interface Cell {
  /** Absolute path of the cell.yaml (errors, relative policy paths). */
  file: string;
  name: string;
  namespace: string;
  services: Service[];
  trustedPeers: Peer[];
  globalIssuer?: { issuer: string; jwksUri: string; audiences: string[] };
  /** Absolute paths of the Rego files. */
  policies: { path: string; line: number }[];
  unsecuredPaths: string[];
  tokenLifetimeSeconds: number;
  gateway: { labels: Record<string, string> };
  wasm: { url: string; sha256?: string };
  /** sha256: the STS image's manifest digest (64 hex, no prefix), pinned in the Deployment; replicas default 2. */
  sts: { image: string; port: number; opaImage: string; sha256?: string; replicas: number };
}

/** The OPA image the STS pod runs as a sidecar. Pinned: same version as .tools/bin/opa. */
export const DEFAULT_OPA_IMAGE = "openpolicyagent/opa:1.22.2";

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const METHOD = /^[A-Z]+$/;
const SHA256 = /^[a-f0-9]{64}$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

type Obj = Record<string, unknown>;

/** Field readers bound to one source: each checks type and range, or fails with the line. */
class Reader {
  constructor(readonly src: YamlSource) {}

  object(v: unknown, path: Path, allowed: string[]): Obj {
    if (typeof v !== "object" || v === null || Array.isArray(v)) this.src.fail(path, "must be a mapping");
    for (const k of Object.keys(v as Obj)) {
      if (!allowed.includes(k)) {
        throw new CellError(this.src.file, this.src.keyLine(path, k), fieldName([...path, k]), `unknown field (allowed: ${allowed.join(", ")})`);
      }
    }
    return v as Obj;
  }

  array(v: unknown, path: Path, opts: { optional?: boolean; minItems?: number } = {}): unknown[] {
    if (v === undefined && opts.optional) return [];
    if (!Array.isArray(v)) this.src.fail(path, v === undefined ? "is required (a list)" : "must be a list");
    if (opts.minItems && v.length < opts.minItems) this.src.fail(path, `needs at least ${opts.minItems} item(s)`);
    return v;
  }

  string(v: unknown, path: Path, opts: { pattern?: RegExp; what?: string; optional?: boolean } = {}): string {
    if (v === undefined && opts.optional) return "";
    if (typeof v !== "string" || v === "") this.src.fail(path, v === undefined ? "is required" : "must be a non-empty string");
    if (opts.pattern && !opts.pattern.test(v)) this.src.fail(path, `must be ${opts.what ?? `a string matching ${opts.pattern}`}`);
    return v;
  }

  int(v: unknown, path: Path, min: number, max: number, dflt?: number): number {
    if (v === undefined && dflt !== undefined) return dflt;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) this.src.fail(path, `must be an integer from ${min} to ${max}`);
    return v;
  }

  url(v: unknown, path: Path, schemes: string[]): string {
    const s = this.string(v, path);
    let u: URL;
    try {
      u = new URL(s);
    } catch {
      this.src.fail(path, "must be a URL");
    }
    if (!schemes.includes(u.protocol)) this.src.fail(path, `must be a ${schemes.map((x) => x.slice(0, -1)).join(" or ")} URL`);
    return s;
  }
}

export function loadCell(file: string): Cell {
  const abs = resolve(file);
  let text: string;
  try {
    text = readFileSync(abs, "utf8");
  } catch (e) {
    throw new CellError(abs, 0, "", `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseCell(abs, text);
}

export function parseCell(file: string, text: string): Cell {
  const src = new YamlSource(file, text);
  const r = new Reader(src);
  const root = r.object(src.data, [], [
    "name", "namespace", "services", "trustedPeers", "globalIssuer", "policies", "unsecuredPaths",
    "tokenLifetimeSeconds", "gateway", "wasm", "sts",
  ]);
  const dns = { pattern: DNS_LABEL, what: "a DNS label (lower-case letters, digits and '-', at most 63)" };
  const name = r.string(root.name, ["name"], dns);
  const namespace = r.string(root.namespace, ["namespace"], dns);

  const services = r.array(root.services, ["services"], { minItems: 1 }).map((raw, i): Service => {
    const p: Path = ["services", i];
    const s = r.object(raw, p, ["name", "port", "paths", "methods"]);
    const paths = r.array(s.paths, [...p, "paths"], { minItems: 1 }).map((x, j) => checkedPath(r, x, [...p, "paths", j]));
    const methods = r.array(s.methods, [...p, "methods"], { optional: true })
      .map((x, j) => r.string(x, [...p, "methods", j], { pattern: METHOD, what: "an upper-case HTTP method" }));
    return { name: r.string(s.name, [...p, "name"], dns), port: r.int(s.port, [...p, "port"], 1, 65535), paths, methods };
  });
  unique(src, services.map((s) => s.name), (i) => ["services", i, "name"], "service name");

  const trustedPeers = r.array(root.trustedPeers, ["trustedPeers"], { optional: true }).map((raw, i): Peer => {
    const p: Path = ["trustedPeers", i];
    const t = r.object(raw, p, ["cell", "namespace", "stsPort"]);
    const peer = {
      cell: r.string(t.cell, [...p, "cell"], dns),
      namespace: r.string(t.namespace, [...p, "namespace"], dns),
      stsPort: r.int(t.stsPort, [...p, "stsPort"], 1, 65535, 8080),
    };
    if (peer.cell === name && peer.namespace === namespace) src.fail([...p, "cell"], "a cell does not list itself as a peer");
    return peer;
  });
  unique(src, trustedPeers.map((t) => `${t.cell}.${t.namespace}`), (i) => ["trustedPeers", i, "cell"], "trusted peer");

  let globalIssuer: Cell["globalIssuer"];
  if (root.globalIssuer !== undefined) {
    const g = r.object(root.globalIssuer, ["globalIssuer"], ["issuer", "jwksUri", "audiences"]);
    globalIssuer = {
      issuer: r.string(g.issuer, ["globalIssuer", "issuer"]),
      jwksUri: r.url(g.jwksUri, ["globalIssuer", "jwksUri"], ["http:", "https:"]),
      audiences: globalAudiences(r, g.audiences),
    };
  }

  const dir = dirname(file);
  const policies = r.array(root.policies, ["policies"], { minItems: 1 }).map((x, i) => {
    const rel = r.string(x, ["policies", i], { pattern: /\.rego$/, what: "a path to a .rego file" });
    return { path: resolve(dir, rel), line: src.lineOf(["policies", i]) };
  });
  unique(src, policies.map((p) => p.path.split("/").pop()!), (i) => ["policies", i], "policy file name (they share one ConfigMap)");

  const unsecuredPaths = r.array(root.unsecuredPaths, ["unsecuredPaths"], { optional: true })
    .map((x, i) => checkedPath(r, x, ["unsecuredPaths", i]));

  const tokenLifetimeSeconds = r.int(root.tokenLifetimeSeconds, ["tokenLifetimeSeconds"], 1, 86400, 300);

  const gw = root.gateway === undefined ? {} : r.object(root.gateway, ["gateway"], ["labels"]);
  const labels: Record<string, string> = {};
  if (gw.labels === undefined) labels.app = `${name}--gateway`;
  else {
    const l = r.object(gw.labels, ["gateway", "labels"], Object.keys(gw.labels as Obj));
    for (const [k, v] of Object.entries(l)) labels[k] = r.string(v, ["gateway", "labels", k], { pattern: LABEL_VALUE, what: "a label value" });
    if (!Object.keys(labels).length) src.fail(["gateway", "labels"], "needs at least one label");
  }

  const w = r.object(root.wasm, ["wasm"], ["url", "sha256"]);
  const wasm = {
    url: r.url(w.url, ["wasm", "url"], ["oci:", "http:", "https:", "file:"]),
    sha256: r.string(w.sha256, ["wasm", "sha256"], { pattern: SHA256, what: "64 lower-case hex digits (no 'sha256:' prefix)", optional: true }) || undefined,
  };

  const s = r.object(root.sts, ["sts"], ["image", "port", "opaImage", "sha256", "replicas"]);
  const sts = {
    image: r.string(s.image, ["sts", "image"]),
    port: r.int(s.port, ["sts", "port"], 1, 65535, 8080),
    opaImage: r.string(s.opaImage, ["sts", "opaImage"], { optional: true }) || DEFAULT_OPA_IMAGE,
    sha256: r.string(s.sha256, ["sts", "sha256"], { pattern: SHA256, what: "64 lower-case hex digits (no 'sha256:' prefix)", optional: true }) || undefined,
    replicas: r.int(s.replicas, ["sts", "replicas"], 1, 50, 2),
  };
  if (sts.port === 8181) src.fail(["sts", "port"], "8181 is taken by the OPA sidecar");

  return { file, name, namespace, services, trustedPeers, globalIssuer, policies, unsecuredPaths, tokenLifetimeSeconds, gateway: { labels }, wasm, sts };
}

/**
 * The edge token audiences the cell gateway accepts. Required: without them any token the
 * global issuer ever minted, for any application, would open the cell.
 */
function globalAudiences(r: Reader, v: unknown): string[] {
  const path: Path = ["globalIssuer", "audiences"];
  if (v === undefined) r.src.fail(path, "is required: the edge token audiences this cell's gateway accepts (a non-empty list)");
  const list = r.array(v, path, { minItems: 1 }).map((x, j) => r.string(x, [...path, j]));
  unique(r.src, list, (j) => [...path, j], "audience");
  return list;
}

function checkedPath(r: Reader, v: unknown, path: Path): string {
  const s = r.string(v, path);
  const why = parseIstioPath(s).error;
  if (why) r.src.fail(path, why);
  return s;
}

function unique(src: YamlSource, values: string[], pathOf: (i: number) => Path, what: string): void {
  const seen = new Set<string>();
  values.forEach((v, i) => {
    if (seen.has(v)) src.fail(pathOf(i), `duplicate ${what} ${JSON.stringify(v)}`);
    seen.add(v);
  });
}
