// Wires one STS together from a config file: keys, trust, counters, HTTP server, config watch.
// Used by main.ts and by tests that want an in-process STS.
import { loadConfigFile, reloadCounts, warnInsecure, watchConfigFile, type LoadedConfig } from "./config.ts";
import type { StsContext, StsState } from "./context.ts";
import { KeyStore, assertPrivate } from "./keys.ts";
import { Metrics } from "./metrics.ts";
import { startServer } from "./server.ts";
import { TrustedIssuers } from "./trust.ts";
import { logger } from "./log.ts";

export interface RunningSts {
  port: number;
  ctx: StsContext;
  /** Stops at once (tests). */
  close(): Promise<void>;
  /** SIGTERM: refuse new connections, let in-flight requests finish (at most `drainMs`). */
  shutdown(drainMs?: number): Promise<{ forced: boolean }>;
}

/** How often a read-only (provisioned) keys file is re-read for a rotated Secret. */
const KEYS_POLL_MS = 1000;

export async function startSts(configPath: string): Promise<RunningSts> {
  let loaded: LoadedConfig = loadConfigFile(configPath);
  warnInsecure(loaded);
  if (loaded.config.tls) assertPrivate(loaded.config.tls.keyFile, "TLS private key");
  const keys = await KeyStore.open(loaded.config.keysDir, loaded.config.signingAlg);
  const metrics = new Metrics();
  let state: StsState = { ...loaded, trust: new TrustedIssuers(loaded.config, keys) };
  const ctx: StsContext = { state: () => state, keys, metrics };

  metrics.observe("sts_config_reloads_total", "Config reloads applied.", "counter", () => reloadCounts().applied);
  metrics.observe("sts_config_reloads_rejected_total", "Config reloads rejected (old config kept).", "counter", () => reloadCounts().rejected);
  metrics.observe("sts_key_rotations_total", "Signing key rotations.", "counter", () => keys.rotations);

  const stopWatching = watchConfigFile(
    configPath,
    () => loaded,
    (next) => {
      loaded = next;
      // Trust is rebuilt from scratch: a removed peer must stop being trusted at once.
      state = { ...next, trust: new TrustedIssuers(next.config, keys) };
    },
  );
  const keysPoll = keys.readOnly ? setInterval(() => void keys.reloadIfChanged(), KEYS_POLL_MS) : undefined;
  keysPoll?.unref();
  const server = await startServer(ctx, loaded.config.port, loaded.config.host ?? "127.0.0.1");
  const c = loaded.config;
  const identity = c.peerIdentity === "xfcc" ? "xfcc" : c.tls ? "mtls" : "none";
  if (identity === "none") {
    logger.warn("no caller authentication: neither tls nor peerIdentity xfcc is configured; /token, /authorize and /admin refuse every request");
  }
  logger.info("listening", { port: server.port, cell: c.cell, namespace: c.namespace, scheme: c.tls ? "https" : "http", peerIdentity: identity });
  return {
    port: server.port,
    ctx,
    close: async () => {
      stopWatching();
      clearInterval(keysPoll);
      await server.close();
    },
    // No request outlives limits.requestTimeoutMs (Node cuts it), so that bounds the drain too.
    shutdown: async (drainMs = loaded.config.limits.requestTimeoutMs) => {
      stopWatching();
      clearInterval(keysPoll);
      return server.drain(drainMs);
    },
  };
}
