// The demo's sample workloads, plain node:http on 127.0.0.1:0, each behind its Envoy sidecar:
//  - customer-products/categories-service: answers a category list and echoes who called it;
//  - reviews/reviews-service: renders a review page and, for the categories, calls
//    `customer-products--categories-service` through its OUTBOUND sidecar, forwarding x-request-id
//    so the outbound filter finds the user context the inbound filter stored.
// Both echo the identity the sidecar handed them (subject header and the verified token's payload
// header, never the token itself), so the demo can print what each hop saw.
import { createServer, request, type IncomingMessage, type Server } from "node:http";

export const PAYLOAD_HEADER = "x-cellauth-jwt-payload";
export const SUBJECT_HEADER = "x-cellery-auth-subject";
export const CATEGORIES_HOST = "customer-products--categories-service";
export const CATEGORIES_UNAVAILABLE = "category service is currently unavailable";

/** What a service saw of its caller, from the headers its inbound sidecar wrote. */
export interface Identity {
  subject?: string;
  iss?: string;
  aud?: string | string[];
  sub?: string;
  cell?: { name?: string; workload?: string };
  act?: unknown;
  cnf?: { spiffe_id?: string };
  may_act?: { sub?: string };
  /** The calling workload as the inbound sidecar verified it (mTLS peer, from x-forwarded-client-cert). */
  peer?: string;
}

/** The URI of the one x-forwarded-client-cert element the sidecar set (SANITIZE_SET: never the client's). */
export function xfccUri(value: string | string[] | undefined): string | undefined {
  if (typeof value !== "string") return undefined;
  const m = /(?:^|;)URI=([^;,]+)/.exec(value);
  return m?.[1];
}

export interface CategoriesCall {
  status: number;
  /** The cellauth status name from a sidecar's refusal ({"status":"AuthzDenied"}), if any. */
  reason?: string;
  /** What categories-service saw, when it was reached. */
  received?: Identity;
}

export interface ReviewPage {
  service: "reviews-service";
  product: string;
  reviews: { user: string; stars: number; text: string }[];
  categories: string[] | typeof CATEGORIES_UNAVAILABLE;
  /** The rendered page, as a user would read it. */
  page: string;
  received: Identity;
  categoriesCall: CategoriesCall;
}

export interface Service {
  port: number;
  close(): Promise<void>;
}

function identity(req: IncomingMessage): Identity {
  const out: Identity = {};
  const subject = req.headers[SUBJECT_HEADER];
  if (typeof subject === "string") out.subject = subject;
  const payload = req.headers[PAYLOAD_HEADER];
  if (typeof payload === "string") {
    try {
      const c = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
      Object.assign(out, { iss: c.iss, aud: c.aud, sub: c.sub, cell: c.cell, act: c.act, cnf: c.cnf, may_act: c.may_act });
    } catch {
      // An unreadable payload header is shown as absent, never guessed.
    }
  }
  const peer = xfccUri(req.headers["x-forwarded-client-cert"]);
  if (peer) out.peer = peer;
  return out;
}

function json(res: import("node:http").ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function listen(server: Server): Promise<Service> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () =>
      resolve({
        port: (server.address() as { port: number }).port,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      }),
    );
  });
}

export function startCategoriesService(): Promise<Service> {
  const server = createServer((req, res) => {
    req.resume();
    json(res, 200, { service: "categories-service", categories: ["books", "music", "travel"], received: identity(req) });
  });
  return listen(server);
}

/** GET via the outbound sidecar with the given Host; resolves with status and parsed JSON body. */
function getVia(port: number, host: string, path: string, requestId: string | undefined, timeoutMs: number): Promise<{ status: number; body: any }> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { host };
    if (requestId) headers["x-request-id"] = requestId;
    const req = request({ host: "127.0.0.1", port, path, method: "GET", headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        let body: any;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on("error", () => resolve({ status: 0, body: undefined }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => resolve({ status: 0, body: undefined }));
    req.end();
  });
}

/** `outboundPort()` is read per request: the outbound listener starts after this service. */
export function startReviewsService(outboundPort: () => number, timeoutMs = 3000): Promise<Service> {
  const server = createServer(async (req, res) => {
    req.resume();
    const product = (req.url ?? "/").split("?")[0].split("/").filter(Boolean).pop() ?? "unknown";
    const rid = req.headers["x-request-id"];
    const call = await getVia(outboundPort(), CATEGORIES_HOST, "/categories", typeof rid === "string" ? rid : undefined, timeoutMs);
    const categoriesCall: CategoriesCall = { status: call.status };
    let categories: ReviewPage["categories"] = CATEGORIES_UNAVAILABLE;
    if (call.status === 200 && Array.isArray(call.body?.categories)) {
      categories = call.body.categories;
      categoriesCall.received = call.body.received;
    } else if (typeof call.body?.status === "string") {
      categoriesCall.reason = call.body.status;
    }
    const reviews = [
      { user: "sam", stars: 5, text: "Sturdy and light." },
      { user: "kim", stars: 4, text: "Does what it says." },
    ];
    const page = [
      `Reviews for ${product}`,
      ...reviews.map((r) => `  ${"*".repeat(r.stars)} ${r.user}: ${r.text}`),
      `Categories: ${Array.isArray(categories) ? categories.join(", ") : categories}`,
    ].join("\n");
    const body: ReviewPage = { service: "reviews-service", product, reviews, categories, page, received: identity(req), categoriesCall };
    json(res, 200, body);
  });
  return listen(server);
}
