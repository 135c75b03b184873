// Inbound authorization: ask the cell's STS (which asks OPA) whether this verified request may
// proceed. Decisions are cached per worker on every input the policy sees, for at most the
// STS's ttl, our cacheTtlSeconds, and the token's remaining lifetime. Expiry is in ms, checked by
// deadlinePassed (host/runtime.ts): the tick clock, and the real clock near the deadline.
import { MapType, HeaderName, getHeaderString } from "../host/headers";
import { post } from "../host/http";
import { nowSeconds } from "../host/runtime";
import { jsonQuote, parseJsonBytes, JsonKind } from "../util/json";
import { Status } from "../jwt/status";
import { Event } from "../jwt/events";
import { Decision } from "./cache";
import { AuthzRequest } from "./request";
import { keyBytes, keyString, buildKey } from "./key";

const REQUEST_ID = new HeaderName("x-request-id");
const AUTHORITY = new HeaderName(":authority");
const MAX_REQUEST_ID = 256;

export class Authorizer {
  constructor(public s: AuthzRequest) {}

  authorize(): i32 {
    const s = this.s;
    const c = s.config;
    const a = c.authorization!;
    const host = getHeaderString(MapType.Request, AUTHORITY);
    let fwd = "";
    for (let i = 0; i < a.forwardHeaders.length; i++) {
      const h = unchecked(a.forwardHeaders[i]);
      const v = getHeaderString(MapType.Request, h);
      if (v !== null) fwd += (fwd.length > 0 ? "," : "") + jsonQuote(h.name) + ":" + jsonQuote(v);
    }
    // The calling workload is the verified mTLS peer: the STS/OPA see it as source.principal.
    const peer = s.peerPrincipal();
    const principal = peer !== null ? peer : "";
    // The policy sees the normalised path; the raw path and the query (token parameters removed)
    // travel beside it.
    const path = s.req.normalized()!;
    const rawPath = s.req.rawPath();
    const query = s.req.query(s.tokenParams());
    // The key: every input the policy sees (the request id is not one).
    const t = s.token!;
    keyBytes(changetype<usize>(t.buf) + <usize>t.start, t.len);
    keyString(principal);
    keyString(s.req.method());
    keyString(path);
    keyString(rawPath);
    keyString(query);
    keyString(host !== null ? host : "");
    keyString(fwd);
    const key = buildKey();
    const cached = s.decisions.get(key);
    if (cached !== null) {
      s.count(Event.AuthzCacheHit);
      return this.decided(cached.value.allow);
    }
    // The STS takes a request id of at most 256 characters (sts/schemas.ts); a longer one, which
    // only a client can have sent, is left out rather than turning the request into a refusal.
    const rid = getHeaderString(MapType.Request, REQUEST_ID);
    const body = "{\"requestId\":" + jsonQuote(rid !== null && rid.length <= MAX_REQUEST_ID ? rid : "") +
      ",\"source\":{\"principal\":" + jsonQuote(principal) + "}" +
      ",\"destination\":{\"cellName\":" + jsonQuote(c.cell) + ",\"workload\":" + jsonQuote(c.workload) + "}" +
      ",\"requestContext\":{\"host\":" + jsonQuote(host !== null ? host : "") + ",\"path\":" + jsonQuote(path) +
      ",\"rawPath\":" + jsonQuote(rawPath) + ",\"query\":" + jsonQuote(query) +
      ",\"method\":" + jsonQuote(s.req.method()) + ",\"protocol\":\"HTTP/1.1\"}" +
      ",\"requestHeaders\":{" + fwd + "},\"jwt\":" + jsonQuote(s.tokenText()) + "}";
    const call = post(a.cluster, a.authority, a.path, "application/json", body, a.timeoutMs);
    if (call == 0) return this.unavailable();
    return s.awaitDecision(call, key);
  }

  // The STS answered (or did not: status 0). Runs in the stream's context.
  onResponse(status: u32, body: ArrayBuffer | null): i32 {
    const s = this.s;
    const a = s.config.authorization!;
    if (status == 0 || status >= 500) return this.unavailable();
    // The STS refused the request as over its limits (a path or header a client made too long):
    // no decision was made, so neither a policy denial nor an outage, and never fail-open.
    if (status == 400 || status == 413) return s.reject(Status.AuthzBadRequest);
    if (body === null) return this.unavailable();
    const doc = parseJsonBytes(changetype<usize>(body), body.byteLength, 8);
    if (doc === null || doc.kind != JsonKind.Object) return this.unavailable();
    const allowV = doc.get("allow");
    // Anything but an explicit `true` denies.
    let allow = false;
    if (status == 200 && allowV !== null) allow = allowV.kind == JsonKind.Bool && allowV.b;
    if (status == 200) {
      let ttl = a.cacheTtlSeconds;
      const t = doc.get("ttlSeconds");
      if (t !== null && t.isInt && t.int < ttl) ttl = t.int;
      const now = nowSeconds();
      let until = now + ttl;
      if (s.tokenExp > 0 && s.tokenExp < until) until = s.tokenExp;
      if (ttl > 0 && until > now) {
        const st = doc.get("status");
        s.decisions.set(s.pendingKey, new Decision(allow, st !== null && st.kind == JsonKind.String ? st.str : ""), until * 1000);
      }
    }
    return this.decided(allow);
  }

  private decided(allow: bool): i32 {
    const s = this.s;
    if (!allow) return s.reject(Status.AuthzDenied);
    s.count(Event.AuthzAllowed);
    return s.allow();
  }

  // STS unreachable, slow or broken: fail closed, unless failOpen was explicitly configured.
  private unavailable(): i32 {
    const s = this.s;
    if (s.config.authorization!.failOpen) {
      s.count(Event.AuthzFailOpen);
      return s.allow();
    }
    return s.reject(Status.AuthzUnavailable);
  }
}
