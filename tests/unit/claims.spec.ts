import { Jwt, parseJwt } from "../../assembly/jwt/parse";
import { checkClaims } from "../../assembly/jwt/claims";
import { JwtRule } from "../../assembly/config/types";
import { Status } from "../../assembly/jwt/status";
import { base64urlEncodeString } from "../../assembly/util/base64";

function jwt(payload: string): Jwt {
  const t = base64urlEncodeString("{\"alg\":\"ES256\"}") + "." + base64urlEncodeString(payload) + ".c2ln";
  const buf = String.UTF8.encode(t);
  const j = new Jwt();
  const s = parseJwt(buf, 0, buf.byteLength, 16, j);
  expect<Status>(s).toBe(Status.Ok);
  return j;
}

function rule(): JwtRule {
  const r = new JwtRule();
  r.issuer = "iss";
  r.audiences = ["a", "b"];
  return r;
}

const NOW: i64 = 1_700_000_000;

describe("claims", () => {
  it("accepts a token inside its window", () => {
    expect<Status>(checkClaims(jwt("{\"aud\":\"a\",\"exp\":1700000100,\"iat\":1700000000}"), rule(), NOW, true)).toBe(Status.Ok);
  });
  it("exp with skew", () => {
    const j = jwt("{\"aud\":\"a\",\"exp\":1699999950}");
    expect<Status>(checkClaims(j, rule(), NOW, true)).toBe(Status.Ok);
    const r = rule();
    r.clockSkewSeconds = 0;
    expect<Status>(checkClaims(j, r, NOW, true)).toBe(Status.JwtExpired);
    expect<Status>(checkClaims(jwt("{\"aud\":\"a\",\"exp\":1699999939}"), rule(), NOW, true)).toBe(Status.JwtExpired);
  });
  it("nbf and iat in the future", () => {
    expect<Status>(checkClaims(jwt("{\"aud\":\"a\",\"exp\":1800000000,\"nbf\":1700000061}"), rule(), NOW, true)).toBe(Status.JwtNotYetValid);
    expect<Status>(checkClaims(jwt("{\"aud\":\"a\",\"exp\":1800000000,\"nbf\":1700000060}"), rule(), NOW, true)).toBe(Status.Ok);
    // iat in the future: no check unless rejectIatInFuture (RFC 7519 defines none; jwt_authn has none).
    expect<Status>(checkClaims(jwt("{\"aud\":\"a\",\"exp\":1800000000,\"iat\":1700000061}"), rule(), NOW, true)).toBe(Status.Ok);
    const strict = rule();
    strict.rejectIatInFuture = true;
    expect<Status>(checkClaims(jwt("{\"aud\":\"a\",\"exp\":1800000000,\"iat\":1700000061}"), strict, NOW, true)).toBe(Status.JwtIatInFuture);
  });
  it("requireExpiration and maxLifetimeSeconds", () => {
    expect<Status>(checkClaims(jwt("{\"aud\":\"a\"}"), rule(), NOW, true)).toBe(Status.JwtMissingExp);
    const r = rule();
    r.requireExpiration = false;
    expect<Status>(checkClaims(jwt("{\"aud\":\"a\"}"), r, NOW, true)).toBe(Status.Ok);
    r.maxLifetimeSeconds = 60;
    expect<Status>(checkClaims(jwt("{\"aud\":\"a\",\"iat\":1700000000,\"exp\":1700000061}"), r, NOW, true)).toBe(Status.JwtLifetimeTooLong);
    expect<Status>(checkClaims(jwt("{\"aud\":\"a\",\"iat\":1700000000,\"exp\":1700000060}"), r, NOW, true)).toBe(Status.Ok);
  });
  it("audience as a string or a list; disabled audience validation", () => {
    expect<Status>(checkClaims(jwt("{\"aud\":[\"x\",\"b\"],\"exp\":1800000000}"), rule(), NOW, true)).toBe(Status.Ok);
    expect<Status>(checkClaims(jwt("{\"aud\":[\"x\"],\"exp\":1800000000}"), rule(), NOW, true)).toBe(Status.JwtAudienceNotAllowed);
    expect<Status>(checkClaims(jwt("{\"exp\":1800000000}"), rule(), NOW, true)).toBe(Status.JwtAudienceNotAllowed);
    expect<Status>(checkClaims(jwt("{\"aud\":\"x\",\"exp\":1800000000}"), rule(), NOW, false)).toBe(Status.Ok);
  });
  it("subjects", () => {
    const r = rule();
    r.subjects = ["alice"];
    expect<Status>(checkClaims(jwt("{\"aud\":\"a\",\"sub\":\"alice\",\"exp\":1800000000}"), r, NOW, true)).toBe(Status.Ok);
    expect<Status>(checkClaims(jwt("{\"aud\":\"a\",\"sub\":\"bob\",\"exp\":1800000000}"), r, NOW, true)).toBe(Status.JwtSubjectNotAllowed);
    expect<Status>(checkClaims(jwt("{\"aud\":\"a\",\"exp\":1800000000}"), r, NOW, true)).toBe(Status.JwtSubjectNotAllowed);
  });
});
