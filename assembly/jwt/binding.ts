// Who may present a token, and which cell it speaks for. A cell token is only as good as the
// identity it was issued to: the STS binds it to the requesting workload's SPIFFE ID
// (`cnf.spiffe_id`, an RFC 7800 confirmation member), and the workload that presents it is the
// mTLS peer Envoy verified, never anything the request says.
import { JwtRule } from "../config/types";
import { JsonKind } from "../util/json";
import { Jwt } from "./parse";
import { Status } from "./status";

// The SPIFFE ID the token is bound to (cnf.spiffe_id), or null.
export function boundPrincipal(jwt: Jwt): string | null {
  const cnf = jwt.payload!.get("cnf");
  if (cnf === null || cnf.kind != JsonKind.Object) return null;
  const id = cnf.get("spiffe_id");
  return id !== null && id.kind == JsonKind.String ? id.str : null;
}

// A cell STS vouches for its own cell only: a `cell.name` claim naming another cell is a forgery
// (or a confused STS), whatever key signed it.
export function checkCellClaim(jwt: Jwt, rule: JwtRule): Status {
  const cell = rule.stsCell;
  if (cell === null) return Status.Ok;
  const claim = jwt.payload!.get("cell");
  if (claim === null) return Status.Ok;
  if (claim.kind != JsonKind.Object) return Status.JwtCellMismatch;
  const name = claim.get("name");
  if (name === null) return Status.Ok;
  return name.kind == JsonKind.String && name.str == cell ? Status.Ok : Status.JwtCellMismatch;
}

// The presenting peer must be the workload the token was issued to, and a workload of the
// issuing cell's namespace. `peer` is the verified URI SAN of the mTLS peer (null without one).
export function checkPeer(rule: JwtRule, bound: string | null, peer: string | null): Status {
  if (!rule.boundToPeer) return Status.Ok;
  if (bound === null || peer === null || bound != peer) return Status.JwtNotBoundToPeer;
  const prefix = rule.peerPrefix;
  if (!peer.startsWith(prefix)) return Status.JwtNotBoundToPeer;
  const sa = peer.length - prefix.length;
  if (sa == 0 || peer.indexOf("/", prefix.length) >= 0) return Status.JwtNotBoundToPeer;
  return Status.Ok;
}
