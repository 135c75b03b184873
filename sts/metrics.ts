// Counters in Prometheus text exposition format (version 0.0.4). Labels are from fixed sets
// (statuses, error codes), never from request data, so the series count stays bounded.

type Labels = Record<string, string>;

interface Counter {
  help: string;
  values: Map<string, number>;
}

function labelKey(labels: Labels): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k].replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

export class Metrics {
  private readonly counters = new Map<string, Counter>();
  private readonly gauges = new Map<string, { help: string; type: "counter" | "gauge"; read: () => number }>();

  inc(name: string, help: string, labels: Labels = {}, by = 1): void {
    let c = this.counters.get(name);
    if (!c) this.counters.set(name, (c = { help, values: new Map() }));
    const key = labelKey(labels);
    c.values.set(key, (c.values.get(key) ?? 0) + by);
  }

  /** A value read at scrape time; `counter` when it only ever grows. */
  observe(name: string, help: string, type: "counter" | "gauge", read: () => number): void {
    this.gauges.set(name, { help, type, read });
  }

  render(): string {
    const lines: string[] = [];
    for (const [name, c] of this.counters) {
      lines.push(`# HELP ${name} ${c.help}`, `# TYPE ${name} counter`);
      for (const [key, v] of c.values) lines.push(`${name}${key} ${v}`);
    }
    for (const [name, g] of this.gauges) {
      lines.push(`# HELP ${name} ${g.help}`, `# TYPE ${name} ${g.type}`, `${name} ${g.read()}`);
    }
    return lines.join("\n") + "\n";
  }
}

export const TOKEN_REQUESTS = "sts_token_requests_total";
export const TOKEN_HELP = "Token exchange requests by result (issued or the RFC 6749 error code).";
export const AUTHZ_DECISIONS = "sts_authorize_decisions_total";
export const AUTHZ_HELP = "Authorization decisions by status.";
export const OPA_ERRORS = "sts_opa_errors_total";
export const OPA_ERRORS_HELP = "OPA queries that failed (unreachable, timeout, non-200, bad body).";
