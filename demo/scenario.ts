// The demo's three steps against a running topology, returning what happened at each hop.
// demo/main.ts prints it; tests/e2e/two-cell.test.ts asserts on it. Hop data comes from what
// the services saw (their sidecars' identity headers) and from the STSs' decision logs; no
// token is ever kept in a result.
import type { Topology, CellName } from "./topology.ts";
import { EDGE_AUDIENCE } from "./topology.ts";
import type { Identity, ReviewPage } from "./services.ts";
import { stsIssuer } from "./filter-configs.ts";
import { waitFor } from "../tests/lib/sts-process.ts";

export interface Hop {
  hop: string;
  issuer: string;
  audience: string;
  subject: string;
  decision: string;
  status: string;
}

export interface StepResult {
  title: string;
  /** The HTTP status the client got. */
  status: number;
  /** The review page, when the client got one. */
  page?: ReviewPage;
  /** The body of a refusal ({"status":"JwtMissed",...}). */
  refusal?: { status?: string; wwwAuthenticate?: string };
  hops: Hop[];
}

type LogMark = Record<CellName, number>;
type Entry = Record<string, unknown>;

const mark = (top: Topology): LogMark => ({
  reviews: top.cells.reviews.sts.logEntries().length,
  "customer-products": top.cells["customer-products"].sts.logEntries().length,
});
const since = (top: Topology, m: LogMark, cell: CellName): Entry[] => top.cells[cell].sts.logEntries().slice(m[cell]);
const audText = (aud: unknown) => (Array.isArray(aud) ? aud.join(",") : typeof aud === "string" ? aud : "-");

function decisionOf(entries: Entry[], requestId: string, workload: string): string {
  const e = entries.find((x) => x.msg === "authorization decision" && x.requestId === requestId && x.workload === workload);
  return e ? String(e.status) : "no decision logged";
}

function issued(entries: Entry[], workload: string): Entry | undefined {
  return entries.find((x) => x.msg === "token issued" && x.workload === workload);
}

/** GET /reviews/<product> through the global gateway with an edge token. */
export async function requestReviews(top: Topology, token: string, requestId: string, product = "camera"): Promise<{ status: number; body: any }> {
  const res = await fetch(`${top.urls.globalGateway}/reviews/${product}`, {
    headers: { authorization: `Bearer ${token}`, "x-request-id": requestId },
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, body };
}

/** Waits until a full request succeeds end to end (every Envoy has fetched its JWKS). */
export async function waitUntilServing(top: Topology): Promise<void> {
  const token = await top.userToken("warmup");
  let n = 0;
  await waitFor(
    "the topology to serve a full request",
    async () => {
      try {
        const r = await requestReviews(top, token, `warmup-${++n}`);
        return (r.status === 200 && r.body?.categoriesCall?.status === 200) || undefined;
      } catch {
        return undefined;
      }
    },
    20_000,
    200,
  );
}

/** One request through the gateway, with a row per hop. */
export async function gatewayStep(top: Topology, title: string, sub: string, requestId: string): Promise<StepResult> {
  const token = await top.userToken(sub);
  const m = mark(top);
  const res = await requestReviews(top, token, requestId);
  const reviewsLog = since(top, m, "reviews");
  const cpLog = since(top, m, "customer-products");
  const page = res.status === 200 && typeof res.body === "object" ? (res.body as ReviewPage) : undefined;
  const edge = { issuer: top.issuer.issuer, audience: EDGE_AUDIENCE, subject: sub };
  const gw = issued(reviewsLog, "gateway");
  const hops: Hop[] = [
    { hop: "client -> global gateway", ...edge, decision: "edge JWT verified", status: page ? "passed" : String(res.status) },
    {
      hop: "global gw -> reviews gateway",
      ...edge,
      decision: gw ? `exchanged at STS-reviews for aud ${audText(gw.aud)}` : "no token issued",
      status: gw ? "passed" : String(res.status),
    },
  ];
  if (page) {
    const r: Identity = page.received;
    hops.push({
      hop: "reviews gw -> reviews-service",
      issuer: r.iss ?? "-",
      audience: audText(r.aud),
      subject: r.sub ?? "-",
      decision: `STS-reviews: ${decisionOf(reviewsLog, requestId, "reviews-service")}`,
      status: "200",
    });
    // The categories token: what categories-service saw, or (when refused) what STS-reviews issued.
    const c = page.categoriesCall;
    const out = issued(reviewsLog, "reviews-service");
    const seen: Identity = c.received ?? { iss: out ? stsIssuer("reviews") : undefined, aud: out?.aud as string[] | undefined, sub: out?.sub as string | undefined };
    hops.push({
      hop: "reviews-service -> categories-service",
      issuer: seen.iss ?? "-",
      audience: audText(seen.aud),
      subject: seen.sub ?? "-",
      decision: `STS-customer-products: ${decisionOf(cpLog, requestId, "categories-service")}`,
      status: `${c.status}${c.reason ? ` ${c.reason}` : ""}`,
    });
  }
  return { title, status: res.status, page, hops };
}

/** A client that skips the gateways and calls reviews-service's sidecar without a token. */
export async function bogusClientStep(top: Topology, title: string): Promise<StepResult> {
  const res = await fetch(`${top.urls.reviewsSidecar}/reviews/camera`, { signal: AbortSignal.timeout(10_000) });
  let status: string | undefined;
  try {
    status = (await res.json()).status;
  } catch {
    status = undefined;
  }
  const wwwAuthenticate = res.headers.get("www-authenticate") ?? undefined;
  return {
    title,
    status: res.status,
    refusal: { status, wwwAuthenticate },
    hops: [{ hop: "bogus client -> reviews-service sidecar", issuer: "-", audience: "-", subject: "-", decision: status ?? "-", status: String(res.status) }],
  };
}

/** The demo: all allowed; the seed policy degrades the categories; no token gets 401. */
export async function runScenario(top: Topology, onStep: (s: StepResult) => void = () => {}): Promise<StepResult[]> {
  const results: StepResult[] = [];
  const step = (r: StepResult) => {
    results.push(r);
    onStep(r);
  };
  step(await gatewayStep(top, "1. alice reads reviews: every hop allowed", "alice", "demo-step-1"));
  await top.applySeedPolicy();
  step(await gatewayStep(top, "2. seed policy applied: customer-products only admits NonExistingCell", "alice", "demo-step-2"));
  step(await bogusClientStep(top, "3. a bogus client calls reviews-service directly, without a token"));
  return results;
}
