// One OPA REST query (POST /v1/data/<path>) with a hard timeout. The answer is one of three
// kinds; anything but a clean 200 with a JSON body is "unavailable", so callers fail closed.
// That includes OPA's 401 for a missing or wrong token (OPA runs with token authentication:
// sts/opa-auth.ts): a token mismatch denies, it never allows.

export type OpaAnswer =
  | { kind: "result"; value: unknown }
  | { kind: "undefined" }
  | { kind: "unavailable"; reason: string };

export function ruleName(workload: string): string {
  return `${workload.replace(/[-.]/g, "_")}_allow`;
}

/** `token`: the bearer token OPA's system.authz policy expects (opa.tokenFile), if any. */
export async function queryOpa(baseUrl: string, path: string, input: unknown, timeoutMs: number, token?: string): Promise<OpaAnswer> {
  const url = `${baseUrl.replace(/\/+$/, "")}/v1/data/${path}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ input }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    const name = (e as Error).name;
    return { kind: "unavailable", reason: name === "TimeoutError" ? "timeout" : "unreachable" };
  }
  let body: unknown;
  try {
    const text = await res.text();
    body = JSON.parse(text);
  } catch {
    return { kind: "unavailable", reason: `bad response (HTTP ${res.status})` };
  }
  if (res.status !== 200) return { kind: "unavailable", reason: `HTTP ${res.status}` };
  if (!body || typeof body !== "object") return { kind: "unavailable", reason: "bad response body" };
  return "result" in body ? { kind: "result", value: (body as { result: unknown }).result } : { kind: "undefined" };
}

/**
 * Can this STS get decisions from OPA (used by /readyz)? OPA answers GET /health (the only request
 * it serves without a token), and it takes our token: a query under our prefix for a rule no policy
 * defines is answered (undefined), not refused (401). An STS with the wrong token could only deny,
 * so it must not be ready.
 */
export async function opaHealthy(baseUrl: string, timeoutMs: number, prefix: string, token?: string): Promise<boolean> {
  try {
    const res = await fetch(`${baseUrl.replace(/\/+$/, "")}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    if (res.status !== 200) return false;
  } catch {
    return false;
  }
  const probe = await queryOpa(baseUrl, `${prefix}/cellauth_readiness_probe`, {}, timeoutMs, token);
  return probe.kind !== "unavailable";
}
