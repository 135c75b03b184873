// Time, audience and subject checks, isolated from parsing and signatures.
import { JwtRule } from "../config/types";
import { Jwt } from "./parse";
import { Status } from "./status";

export function checkClaims(jwt: Jwt, rule: JwtRule, now: i64, checkAudience: bool): Status {
  const skew = rule.clockSkewSeconds;
  if (!jwt.hasExp) {
    if (rule.requireExpiration || rule.maxLifetimeSeconds > 0) return Status.JwtMissingExp;
  } else if (now > jwt.exp + skew) {
    return Status.JwtExpired;
  }
  if (jwt.hasNbf && now + skew < jwt.nbf) return Status.JwtNotYetValid;
  if (rule.rejectIatInFuture && jwt.hasIat && now + skew < jwt.iat) return Status.JwtIatInFuture;
  if (rule.maxLifetimeSeconds > 0) {
    const from = jwt.hasIat ? jwt.iat : now;
    if (jwt.exp - from > rule.maxLifetimeSeconds) return Status.JwtLifetimeTooLong;
  }
  if (checkAudience && rule.audiences.length > 0 && !anyIn(jwt.aud, rule.audiences)) return Status.JwtAudienceNotAllowed;
  if (rule.subjects.length > 0) {
    const sub = jwt.sub;
    if (sub === null || !rule.subjects.includes(sub)) return Status.JwtSubjectNotAllowed;
  }
  return Status.Ok;
}

function anyIn(have: string[], allowed: string[]): bool {
  for (let i = 0; i < have.length; i++) if (allowed.includes(have[i])) return true;
  return false;
}
