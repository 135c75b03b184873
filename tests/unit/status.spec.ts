import { Status, statusCount, tableLength, statusName, statusCode, statusError, statusCounter, statusDetails, wwwAuthenticate, responseBody } from "../../assembly/jwt/status";

describe("status table", () => {
  it("has exactly one row per status, in enum order", () => {
    expect<i32>(tableLength()).toBe(statusCount());
    expect<string>(statusName(Status.Ok)).toBe("Ok");
    expect<string>(statusName(Status.JwtExpired)).toBe("JwtExpired");
    expect<string>(statusName(Status.TokenExchangeRefused)).toBe("TokenExchangeRefused");
  });
  it("maps every failure to 401, 403 or 503 (400 for a refused path or a request over the STS's limits, 409 for a request id in use), and names are unique", () => {
    expect<u32>(statusCode(Status.PathEscapedSlash)).toBe(400);
    expect<u32>(statusCode(Status.AuthzBadRequest)).toBe(400);
    expect<u32>(statusCode(Status.RequestIdInUse)).toBe(409);
    for (let i = 1; i < statusCount(); i++) {
      const c = statusCode(<Status>i);
      const request = <Status>i == Status.PathEscapedSlash || <Status>i == Status.RequestIdInUse || <Status>i == Status.AuthzBadRequest;
      expect<bool>(c == 401 || c == 403 || c == 503 || request).toBe(true, statusName(<Status>i));
      for (let j = 1; j < i; j++) expect<string>(statusName(<Status>j)).not.toBe(statusName(<Status>i));
    }
  });
  it("a missing token is 401 with no RFC 6750 error", () => {
    expect<u32>(statusCode(Status.JwtMissed)).toBe(401);
    expect<string>(statusError(Status.JwtMissed)).toBe("");
    expect<string>(wwwAuthenticate(Status.JwtMissed, "cell")).toBe("Bearer realm=\"cell\"");
  });
  it("bad tokens are invalid_token; audience is 403; denial is 403 without insufficient_scope", () => {
    expect<string>(statusError(Status.JwtVerificationFail)).toBe("invalid_token");
    expect<u32>(statusCode(Status.JwtAudienceNotAllowed)).toBe(403);
    expect<u32>(statusCode(Status.AuthzDenied)).toBe(403);
    expect<string>(statusError(Status.AuthzDenied)).toBe("");
    expect<u32>(statusCode(Status.AuthzUnavailable)).toBe(503);
    for (let i = 1; i < statusCount(); i++) expect<string>(statusError(<Status>i)).not.toBe("insufficient_scope");
  });
  it("derives counters and details in snake case", () => {
    expect<string>(statusCounter(Status.JwksKidAlgMismatch)).toBe("jwks_kid_alg_mismatch");
    expect<string>(statusDetails(Status.JwtExpired)).toBe("cellauth_jwt_expired");
  });
  it("WWW-Authenticate with an error carries a description, and the body names the status", () => {
    expect<string>(wwwAuthenticate(Status.JwtExpired, "r")).toBe("Bearer realm=\"r\", error=\"invalid_token\", error_description=\"Jwt is expired\"");
    expect<string>(responseBody(Status.JwtExpired)).toBe("{\"status\":\"JwtExpired\",\"message\":\"Jwt is expired\"}");
  });
  it("messages contain no quote or backslash (they go inside a quoted-string)", () => {
    for (let i = 0; i < statusCount(); i++) {
      const m = wwwAuthenticate(<Status>i, "r");
      expect<bool>(m.substring(14).includes("\\")).toBe(false);
    }
  });
});
