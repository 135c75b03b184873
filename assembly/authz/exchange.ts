// RFC 8693 token exchange with the cell's STS.
//  gateway:  the verified edge token becomes a token for this cell (as Cellery's cell gateway did);
//  outbound: a call to a configured cell's service (<cell>--<service>[.<ns>[.svc[.cluster.local]]])
//            gets a token for that cell, carrying the user context the inbound filter stored under
//            x-request-id. Every other host passes untouched and never sees a cell token.
// Tokens are cached per worker until refreshBeforeExpirySeconds before they expire; the cache and
// the user context check expiry with deadlinePassed (host/runtime.ts).
import { MapType, HeaderName, getHeaderString, setHeader } from "../host/headers";
import { post } from "../host/http";
import { nowSeconds } from "../host/runtime";
import { parseJsonBytes, JsonKind } from "../util/json";
import { Status } from "../jwt/status";
import { Event } from "../jwt/events";
import { CONTINUE } from "../host/actions";
import { formEncode } from "./form";
import { destinationService, clusterService } from "./destinations";
import { ExchangeRequest } from "./request";
import { getPropertyEncoded } from "../host/buffers";

const AUTHORITY = new HeaderName(":authority");
const REQUEST_ID = new HeaderName("x-request-id");
const GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt";
const CLUSTER_NAME = String.UTF8.encode("xds\0cluster_name");

// The SPIFFE ID of the workload a token is for (RFC 8693 `resource`): the STS makes it the token's
// may_act, the one workload besides the presenter that may exchange the token again. A service
// account is named after its service, as the Istio render creates them.
function workloadId(trustDomain: string, namespace: string, service: string): string {
  return "spiffe://" + trustDomain + "/ns/" + namespace + "/sa/" + service;
}

export class Exchanger {
  constructor(public s: ExchangeRequest) {}

  gateway(): i32 {
    const s = this.s;
    const c = s.config;
    const tx = c.tokenExchange!;
    const subject = s.tokenText();
    // The service this gateway route sends the request to, from Envoy's (Istio-named) upstream cluster.
    const cluster = getPropertyEncoded(CLUSTER_NAME);
    const service = cluster !== null ? clusterService(String.UTF8.decode(cluster), c.namespace) : null;
    const resource = service !== null ? workloadId(c.trustDomain, c.namespace, service) : "";
    return this.exchange(tx.audience.length > 0 ? tx.audience : c.cell, resource, subject);
  }

  outbound(): i32 {
    const s = this.s;
    const c = s.config;
    const tx = c.tokenExchange!;
    const host = getHeaderString(MapType.Request, AUTHORITY);
    const dst = host !== null ? destinationService(host, tx.destinations) : null;
    if (dst === null) {
      s.count(Event.ExternalPassthrough);
      return CONTINUE;
    }
    const rid = getHeaderString(MapType.Request, REQUEST_ID);
    const subject = rid !== null && c.userContextEnabled ? s.users!.get(rid) : null;
    return this.exchange(dst.cell, workloadId(c.trustDomain, dst.namespace, dst.service), subject);
  }

  private exchange(audience: string, resource: string, subject: string | null): i32 {
    const s = this.s;
    const c = s.config;
    const tx = c.tokenExchange!;
    const key = audience + "\n" + resource + "\n" + (subject !== null ? subject : "");
    const cached = s.exchanged.get(key);
    if (cached !== null) {
      s.count(Event.ExchangeCacheHit);
      setHeader(MapType.Request, tx.header, "Bearer " + cached.value);
      return s.allow();
    }
    // No source_workload: the STS takes the requesting workload from this sidecar's mTLS certificate.
    let form = "grant_type=" + formEncode(GRANT) + "&audience=" + formEncode(audience);
    if (resource.length > 0) form += "&resource=" + formEncode(resource);
    if (subject !== null) form += "&subject_token=" + formEncode(subject) + "&subject_token_type=" + formEncode(JWT_TYPE);
    const call = post(tx.cluster, tx.authority, tx.path, "application/x-www-form-urlencoded", form, tx.timeoutMs);
    if (call == 0) return s.reject(Status.TokenExchangeUnavailable);
    return s.awaitToken(call, key);
  }

  onResponse(status: u32, body: ArrayBuffer | null): i32 {
    const s = this.s;
    const tx = s.config.tokenExchange!;
    if (status == 0 || status >= 500 || body === null) return s.reject(Status.TokenExchangeUnavailable);
    if (status != 200) return s.reject(Status.TokenExchangeRefused);
    const doc = parseJsonBytes(changetype<usize>(body), body.byteLength, 8);
    if (doc === null) return s.reject(Status.TokenExchangeUnavailable);
    const at = doc.get("access_token");
    if (at === null || at.kind != JsonKind.String || at.str.length == 0) return s.reject(Status.TokenExchangeUnavailable);
    const exp = doc.get("expires_in");
    const now = nowSeconds();
    if (exp !== null && exp.isInt) {
      const until = now + exp.int - tx.refreshBeforeExpirySeconds;
      if (until > now) s.exchanged.set(s.pendingKey, at.str, until * 1000);
    }
    s.count(Event.ExchangeOk);
    setHeader(MapType.Request, tx.header, "Bearer " + at.str);
    return s.allow();
  }
}
