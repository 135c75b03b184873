// Loads the STS configuration file, validates it against config/sts.schema.json (filling the
// secure defaults), and watches it: a good change is applied, a bad one keeps the old config.
import { readFileSync, watchFile, unwatchFile } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, resolve } from "node:path";
import { Ajv } from "ajv";
import { logger } from "./log.ts";
import { normalizeOpaToken } from "./opa-auth.ts";

export type SigningAlg = "ES256" | "RS256";

export interface TrustedPeer {
  cell: string;
  namespace: string;
  jwksUri: string;
}

export interface GlobalJwksConfig {
  issuer: string;
  /** An edge token's `aud` must contain one of these. */
  audiences: string[];
  uri?: string;
  jwks?: { keys: Record<string, unknown>[] };
}

export interface TlsConfig {
  certFile: string;
  keyFile: string;
  caFile: string;
}

export interface ExchangeAllowance {
  workload: string;
  audiences: string[];
}

export interface StsConfig {
  version: "v1";
  cell: string;
  namespace: string;
  trustDomain: string;
  /** Mutual TLS terminated by the STS itself; the caller is the peer certificate's URI SAN. */
  tls?: TlsConfig;
  /** "tls" (default, needs `tls`) or "xfcc" (plain HTTP behind the STS's own sidecar). */
  peerIdentity: "tls" | "xfcc";
  tokenExchange: { allowed?: ExchangeAllowance[] };
  port: number;
  /** Listen address; 127.0.0.1 unless a pod must accept traffic on its own IP. */
  host?: string;
  keysDir: string;
  signingAlg: SigningAlg;
  tokenLifetimeSeconds: number;
  clockSkewSeconds: number;
  globalJWKS?: GlobalJwksConfig;
  trustedPeers: TrustedPeer[];
  jwksCacheMaxAgeSeconds: number;
  jwksCooldownSeconds: number;
  jwksTimeoutMs: number;
  enableSignatureValidation: boolean;
  enableIssuerValidation: boolean;
  enableAudienceValidation: boolean;
  enableAuthorization: boolean;
  allowTokenWithoutSubject: boolean;
  enableAdminEndpoints: boolean;
  adminPrincipals: string[];
  insecureAcknowledgements: string[];
  OPAQueryPrefix: string;
  /** `tokenFile`: the bearer token for OPA's API (the content is in LoadedConfig.opaToken). */
  opa: { url: string; timeoutMs: number; includeRawToken: boolean; tokenFile?: string };
  unsecuredPaths: string[];
  decisionTtlSeconds: number;
  configPollMs: number;
  limits: { maxBodyBytes: number; headersTimeoutMs: number; requestTimeoutMs: number; idleTimeoutMs: number; maxConnections: number };
}

/** A validated config plus values derived from it once. */
export interface LoadedConfig {
  config: StsConfig;
  unsecured: RegExp[];
  /** The content of opa.tokenFile, read at load; kept out of `config` so it is never logged with it. */
  opaToken?: string;
}

const schemaPath = fileURLToPath(new URL("../config/sts.schema.json", import.meta.url));
const schema = JSON.parse(readFileSync(schemaPath, "utf8"));
const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
const validateSchema = ajv.compile(schema);

// These shape the process (socket, key material, identity); changing them needs a restart.
const RESTART_ONLY = ["cell", "namespace", "port", "host", "keysDir", "signingAlg", "trustDomain", "tls", "peerIdentity", "limits"] as const;

export class ConfigError extends Error {}

/** Validation switches that are on by default; turning one off needs an acknowledgement. */
export const SECURITY_SWITCHES = ["enableSignatureValidation", "enableIssuerValidation", "enableAudienceValidation", "enableAuthorization"] as const;

// Random paths: a pattern that matches one of them opens (nearly) every path.
const rnd = () => Math.random().toString(36).slice(2, 10);
const PROBES = [`/${rnd()}`, `/${rnd()}/${rnd()}`, `/${rnd()}-${rnd()}/${rnd()}.${rnd()}/x`];
function isCatchAll(re: RegExp): boolean {
  return PROBES.some((p) => re.test(p));
}

/** What a config deliberately weakens (logged as a warning on every load). */
export function insecureSwitches(config: StsConfig, unsecured: RegExp[]): string[] {
  const out: string[] = SECURITY_SWITCHES.filter((sw) => config[sw] === false);
  if (unsecured.some(isCatchAll)) out.push("unsecuredPathsCatchAll");
  return out;
}

/** Validates a parsed config object; throws ConfigError with every reason. */
export function parseConfig(raw: unknown): LoadedConfig {
  const data = structuredClone(raw);
  if (!validateSchema(data)) {
    const why = (validateSchema.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`).join("; ");
    throw new ConfigError(`config does not match schema: ${why}`);
  }
  const config = data as StsConfig;
  const unsecured = config.unsecuredPaths.map((p) => {
    try {
      return new RegExp(p);
    } catch {
      throw new ConfigError(`unsecuredPaths: invalid regular expression ${JSON.stringify(p)}`);
    }
  });
  const seen = new Set<string>();
  for (const peer of config.trustedPeers) {
    if (seen.has(peer.cell)) throw new ConfigError(`trustedPeers: cell ${peer.cell} listed twice`);
    seen.add(peer.cell);
  }
  if (config.enableAdminEndpoints && config.adminPrincipals.length === 0) {
    throw new ConfigError("enableAdminEndpoints needs adminPrincipals: the SPIFFE IDs allowed to call /admin/*");
  }
  const acknowledged = new Set(config.insecureAcknowledgements);
  for (const sw of SECURITY_SWITCHES) {
    if (config[sw] === false && !acknowledged.has(sw)) {
      throw new ConfigError(`${sw} is false: refused unless insecureAcknowledgements lists "${sw}"`);
    }
  }
  const catchAll = config.unsecuredPaths.filter((_, i) => isCatchAll(unsecured[i]));
  if (catchAll.length > 0 && !acknowledged.has("unsecuredPathsCatchAll")) {
    throw new ConfigError(`unsecuredPaths ${JSON.stringify(catchAll)} match every path: refused unless insecureAcknowledgements lists "unsecuredPathsCatchAll"`);
  }
  if (config.peerIdentity === "xfcc" && config.tls) {
    throw new ConfigError('peerIdentity "xfcc" runs plain HTTP behind the sidecar: remove tls, or use peerIdentity "tls"');
  }
  const known = new Set([config.cell, ...config.trustedPeers.map((p) => p.cell)]);
  for (const a of config.tokenExchange.allowed ?? []) {
    for (const cell of a.audiences) {
      if (!known.has(cell)) throw new ConfigError(`tokenExchange.allowed: ${cell} is neither this cell nor a trusted peer`);
    }
  }
  return { config, unsecured };
}

export function loadConfigFile(path: string): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(`cannot read config file: ${(e as Error).message}`);
  }
  return parseConfigText(text, path);
}

/** Parses the text of the config file at `path` (the path anchors a relative keysDir). */
export function parseConfigText(text: string, path: string): LoadedConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`config is not valid JSON: ${(e as Error).message}`);
  }
  const loaded = parseConfig(raw);
  // A relative keysDir (or TLS file) is relative to the config file, not to wherever the process started.
  loaded.config.keysDir = resolve(dirname(path), loaded.config.keysDir);
  const tls = loaded.config.tls;
  if (tls) loaded.config.tls = { certFile: resolve(dirname(path), tls.certFile), keyFile: resolve(dirname(path), tls.keyFile), caFile: resolve(dirname(path), tls.caFile) };
  if (loaded.config.opa.tokenFile !== undefined) {
    loaded.config.opa.tokenFile = resolve(dirname(path), loaded.config.opa.tokenFile);
    loaded.opaToken = readOpaToken(loaded.config.opa.tokenFile);
  }
  return loaded;
}

/**
 * The bearer token for OPA, read when the config is loaded (and on every reload, so pointing
 * tokenFile at a new file swaps it). A missing, unreadable or empty file refuses the config:
 * without its token the STS could only get 401s from OPA.
 */
function readOpaToken(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError(`opa.tokenFile: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const token = normalizeOpaToken(text);
  if (token.length === 0) throw new ConfigError(`opa.tokenFile: ${file} is empty`);
  // It goes into an HTTP header: printable ASCII without spaces (a base64url token is).
  if (!/^[\x21-\x7e]+$/.test(token)) throw new ConfigError(`opa.tokenFile: ${file} holds characters that cannot be sent in a header`);
  return token;
}

/**
 * Polls the file (robust against editors that replace it by rename) and calls onChange with
 * each new valid config. A writer that truncates and then writes (most tools do) leaves a
 * moment where the file is empty or half written; so a change is read only once the file has
 * stood still for one settle period, and the same content is never judged twice.
 * Returns a function that stops watching.
 */
export function watchConfigFile(
  path: string,
  current: () => LoadedConfig,
  onChange: (next: LoadedConfig) => void,
): () => void {
  const interval = current().config.configPollMs;
  const settleMs = Math.max(20, Math.min(interval, 200));
  let lastText: string | undefined = safeRead(path);
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const judge = (text: string) => {
    if (text === lastText) return;
    lastText = text;
    let next: LoadedConfig;
    try {
      next = parseConfigText(text, path);
    } catch (e) {
      logger.warn("config reload rejected; keeping the previous config", { reason: (e as Error).message });
      rejected++;
      return;
    }
    const old = current().config;
    const changed = RESTART_ONLY.filter((k) => JSON.stringify(old[k]) !== JSON.stringify(next.config[k]));
    if (changed.length > 0) {
      logger.warn("config reload rejected; keeping the previous config", {
        reason: `fields need a restart: ${changed.join(", ")}`,
      });
      rejected++;
      return;
    }
    applied++;
    onChange(next);
    logger.info("config reloaded", { cell: next.config.cell });
    warnInsecure(next);
  };

  // Reads when two looks one settle period apart agree on size, mtime and content.
  const settle = (seen: string | undefined) => {
    timer = undefined;
    if (stopped) return;
    const text = safeRead(path);
    if (text === undefined) {
      // Gone (mid-rename, or deleted): keep the old config and look again on the next change.
      return;
    }
    if (text !== seen) {
      timer = setTimeout(() => settle(text), settleMs);
      return;
    }
    judge(text);
  };

  const listener = (now: { mtimeMs: number; size: number }, prev: { mtimeMs: number; size: number }) => {
    if (now.mtimeMs === prev.mtimeMs && now.size === prev.size) return;
    if (timer) clearTimeout(timer);
    const text = safeRead(path);
    timer = setTimeout(() => settle(text), settleMs);
  };
  watchFile(path, { interval, persistent: false }, listener);
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    unwatchFile(path, listener);
  };
}

/** Logs a warning naming every weakened security switch; called on every load. */
export function warnInsecure(loaded: LoadedConfig): void {
  const weakened = insecureSwitches(loaded.config, loaded.unsecured);
  if (weakened.length > 0) logger.warn("insecure configuration: security switches weakened", { switches: weakened });
  if (loaded.config.enableAuthorization && loaded.opaToken === undefined) {
    // Not refused (an OPA protected some other way needs no token), but the usual set-up has one.
    logger.warn("opa.tokenFile is not set: the STS sends OPA no token, so OPA's API must be protected some other way (see sts/README.md)");
  }
}

function safeRead(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

let applied = 0;
let rejected = 0;
/** The destination cells `workload` (a service account of this cell) may request tokens for. */
export function allowedAudiences(config: StsConfig, workload: string): Set<string> {
  const rules = config.tokenExchange.allowed ?? [{ workload: "*", audiences: [config.cell, ...config.trustedPeers.map((p) => p.cell)] }];
  const out = new Set<string>();
  for (const r of rules) if (r.workload === "*" || r.workload === workload) for (const a of r.audiences) out.add(a);
  return out;
}

/** Counts for /metrics. */
export function reloadCounts(): { applied: number; rejected: number } {
  return { applied, rejected };
}
