// The demo's four steps against a running topology, returning what happened at each hop.
// demo/main.ts prints it; tests/e2e/two-cell.test.ts asserts on it. Hop data comes from what
// the services saw (their sidecars' identity headers) and from the STSs' decision logs; no
// token is ever kept in a result.
import type { Topology, CellName } from "./topology.ts";
import { EDGE_AUDIENCE } from "./topology.ts";
import type { Identity, ReviewPage } from "./services.ts";
import { stsIssuer, CELL_TOKEN_HEADER } from "./filter-configs.ts";
import { CATEGORIES_HOST } from "./services.ts";
import { waitFor } from "../tests/lib/sts-process.ts";
import { mtlsFetch } from "../tests/lib/mtls-client.ts";
import type { Svid } from "../tests/lib/spiffe-ca.ts";

export interface Hop {
  hop: string;
  /** The caller as the receiving side verified it (mTLS peer SPIFFE ID); "-" at the edge. */
  peer: string;
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

/** The STS's log of a token it issued to `workload` (the caller's SPIFFE ID names its service account). */
function issued(entries: Entry[], workload: string): Entry | undefined {
  return entries.find((x) => x.msg === "token issued" && String(x.caller ?? "").endsWith(`/sa/${workload}`));
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
  // The reviews gateway's access log names the mTLS peer of each request; it is flushed every 100 ms.
  const gwPeer = await waitFor("the reviews gateway's access log", () => top.gatewayPeer(requestId), 2000, 50).catch(() => undefined);
  const gw = issued(reviewsLog, "reviews--gateway");
  const hops: Hop[] = [
    { hop: "client -> global gateway", peer: "- (edge, no mTLS)", ...edge, decision: "edge JWT verified", status: page ? "passed" : String(res.status) },
    {
      hop: "global gw -> reviews gateway",
      peer: gwPeer ?? "-",
      ...edge,
      decision: gw ? `exchanged at STS-reviews for aud ${audText(gw.aud)}` : "no token issued",
      status: gw ? "passed" : String(res.status),
    },
  ];
  if (page) {
    const r: Identity = page.received;
    hops.push({
      hop: "reviews gw -> reviews-service",
      peer: r.peer ?? "-",
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
      // When categories-service was not reached, the token's binding names who presented it.
      peer: c.received?.peer ?? (out?.caller as string | undefined) ?? "-",
      issuer: seen.iss ?? "-",
      audience: audText(seen.aud),
      subject: seen.sub ?? "-",
      decision: `STS-customer-products: ${decisionOf(cpLog, requestId, "categories-service")}`,
      status: `${c.status}${c.reason ? ` ${c.reason}` : ""}`,
    });
  }
  return { title, status: res.status, page, hops };
}

async function refusal(res: { status: number; text: string; headers: Record<string, string | string[] | undefined> }) {
  let status: string | undefined;
  try {
    status = JSON.parse(res.text).status;
  } catch {
    status = undefined;
  }
  const www = res.headers["www-authenticate"];
  return { status, wwwAuthenticate: typeof www === "string" ? www : undefined };
}

/** A client that skips the gateways and calls reviews-service's sidecar: first with no mesh
 * certificate at all (the mTLS handshake refuses it), then as a mesh workload without a token. */
export async function bogusClientStep(top: Topology, title: string): Promise<StepResult> {
  const url = `${top.urls.reviewsSidecar}/reviews/camera`;
  let handshake = "connected";
  try {
    await mtlsFetch(url, { ca: top.ca.caPem, timeoutMs: 5000 });
  } catch (e) {
    handshake = `refused (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  }
  const res = await mtlsFetch(url, { ca: top.ca.caPem, client: top.svids.customersService, timeoutMs: 10_000 });
  const r = await refusal(res);
  return {
    title,
    status: res.status,
    refusal: r,
    hops: [
      { hop: "client without a certificate -> reviews-service sidecar", peer: "-", issuer: "-", audience: "-", subject: "-", decision: "mTLS handshake", status: handshake },
      { hop: "customers-service -> reviews-service sidecar", peer: top.svids.customersService.spiffeId, issuer: "-", audience: "-", subject: "-", decision: r.status ?? "-", status: String(res.status) },
    ],
  };
}

const GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt";

/** A cell token for customer-products, issued by STS-reviews to `as` (over mTLS, as its outbound sidecar would get it). */
export async function cellTokenFor(top: Topology, as: Svid, sub: string): Promise<string> {
  const body = new URLSearchParams({ grant_type: GRANT, subject_token: await top.userToken(sub), subject_token_type: JWT_TYPE, audience: "customer-products" });
  const res = await top.cells.reviews.sts.fetchAs(as, "/token", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: body.toString() });
  if (res.status !== 200) throw new Error(`STS-reviews refused a token for ${as.spiffeId}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()).access_token;
}

/** customer-products' categories sidecar, called directly over mTLS as `as` with a cell token. */
export function callCategoriesAs(top: Topology, as: Svid, token: string, requestId: string) {
  return mtlsFetch(`${top.urls.categoriesSidecar}/categories`, {
    ca: top.ca.caPem,
    client: as,
    headers: { host: CATEGORIES_HOST, [CELL_TOKEN_HEADER]: `Bearer ${token}`, "x-request-id": requestId },
    timeoutMs: 10_000,
  });
}

/** A cell token issued to reviews-service is stolen and replayed by another workload of the mesh. */
export async function stolenTokenStep(top: Topology, title: string): Promise<StepResult> {
  const { reviewsService: owner, customersService: thief } = top.svids;
  const token = await cellTokenFor(top, owner, "alice");
  const claims = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8"));
  const base = { issuer: String(claims.iss), audience: audText(claims.aud), subject: String(claims.sub) };
  const stolen = await callCategoriesAs(top, thief, token, "demo-step-4-stolen");
  const r = await refusal(stolen);
  const m = mark(top);
  const own = await callCategoriesAs(top, owner, token, "demo-step-4-owner");
  const ownReason = (await refusal(own)).status;
  return {
    title,
    status: stolen.status,
    refusal: r,
    hops: [
      { hop: "STS-reviews issues a token to reviews-service", peer: owner.spiffeId, ...base, decision: `bound: cnf.spiffe_id = ${claims.cnf?.spiffe_id ?? "-"}`, status: "200" },
      { hop: "customers-service replays it -> categories-service", peer: thief.spiffeId, ...base, decision: r.status ?? "-", status: String(stolen.status) },
      {
        hop: "reviews-service presents it -> categories-service",
        peer: owner.spiffeId,
        ...base,
        decision: `binding ok; STS-customer-products: ${decisionOf(since(top, m, "customer-products"), "demo-step-4-owner", "categories-service")}`,
        status: `${own.status}${ownReason ? ` ${ownReason}` : ""}`,
      },
    ],
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
  step(await stolenTokenStep(top, "4. a cell token stolen from reviews-service is replayed by another workload"));
  return results;
}
