// What every handler needs: the current config (replaced as a whole on reload), the trust
// built from it, the signing keys and the counters.
import type { StsConfig } from "./config.ts";
import type { KeyStore } from "./keys.ts";
import type { Metrics } from "./metrics.ts";
import type { TrustedIssuers } from "./trust.ts";

export interface StsState {
  config: StsConfig;
  unsecured: RegExp[];
  /** The bearer token for OPA (opa.tokenFile's content), if configured. */
  opaToken?: string;
  trust: TrustedIssuers;
}

export interface StsContext {
  /** Read once per request so a reload never mixes two configs in one answer. */
  state(): StsState;
  keys: KeyStore;
  metrics: Metrics;
}

export interface HttpResult {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}
