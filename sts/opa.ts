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

/** GET /health: does OPA answer (used by /readyz). The only request OPA serves without a token. */
export async function opaHealthy(baseUrl: string, timeoutMs: number): Promise<boolean> {
  try {
    const res = await fetch(`${baseUrl.replace(/\/+$/, "")}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}
