import { parseJwks, KeyType } from "../../assembly/jwks/keys";
import { certificateJwk, lastX509Error } from "../../assembly/jwks/x509";
import { splitUrl, discoveryPath, parseDiscovery, lastDiscoveryError } from "../../assembly/jwks/discovery";
import { jsonQuote } from "../../assembly/util/json";

// Self-signed certificates made by tests/lib/x509-keys.ts (@peculiar/x509), as Google serves them.
const RSA_PEM = "-----BEGIN CERTIFICATE-----\nMIICyTCCAbGgAwIBAgIJATB7h1QAH/E0MA0GCSqGSIb3DQEBCwUAMBsxGTAXBgNV\nBAMTEHNlY3VyZXRva2VuLnRlc3QwHhcNMjYxMjAxMTQ0MzM4WhcNMjYxMjAyMTU0\nMzM4WjAbMRkwFwYDVQQDExBzZWN1cmV0b2tlbi50ZXN0MIIBIjANBgkqhkiG9w0B\nAQEFAAOCAQ8AMIIBCgKCAQEApo9cQ1PPVxEfMTecenTXbzli+K7d2lAbbCI2IhpI\nLzQju4342kDmVvt0GNb8eKNAskXIhg9Sborah6liWE+WqFpjWDnx/IChiF/QrCVQ\nyKYW+6LT+F62wHn0vkHUokX7wREK0xuVTrtUPI6ILnrKUYb2o4DDKHP8ZQKAI3IY\nR96GIThPa2lM9px8s02Yn9ToiJY0w4s5w98yj314WYx2rnjSyZwr7XaVY/s09UEq\nFDpDA3q8P2FXIVn+6KN2IaUmMTe5IFpq1TQ1IzMAz0dyxf/MgJGodX5julNmuVo1\nZ8y6ijnfFd8bNzKh5GiSXZSPPmpCEYCWMJKT/j4UgQQc1wIDAQABoxAwDjAMBgNV\nHRMBAf8EAjAAMA0GCSqGSIb3DQEBCwUAA4IBAQAonw+U23LLwR5EgQXdUQXrzegM\nay1JOL3MsSa/Y+UqJFKWVb3O2PHEHqypoQe0iiFZxTpeocEj6BxVywg/pvZgb4JE\nStGuYHQobvCofonggPdek9BQZL4+kOGvlhPqGmLasY4L+sAFDrSiBRKYtzsR8Bjm\nrONCJSKrXR6Y+4MZo9O90ODkZuUYOVYnltEN3L8SXSWxDHsqwQ/K48YuiyS44bqF\nUEpJ5XU4d2vMTaHiEE+DaLmw0IShrlsKelDVaES6J292a7IojGkM/TKa7wrqTOpi\nDPOiwRZPgNTdjimqEW7kPRKMZF9OVysma6PSisv709VtNzUO5HGQUlggNuLH\n-----END CERTIFICATE-----\n";
const RSA_N = "po9cQ1PPVxEfMTecenTXbzli-K7d2lAbbCI2IhpILzQju4342kDmVvt0GNb8eKNAskXIhg9Sborah6liWE-WqFpjWDnx_IChiF_QrCVQyKYW-6LT-F62wHn0vkHUokX7wREK0xuVTrtUPI6ILnrKUYb2o4DDKHP8ZQKAI3IYR96GIThPa2lM9px8s02Yn9ToiJY0w4s5w98yj314WYx2rnjSyZwr7XaVY_s09UEqFDpDA3q8P2FXIVn-6KN2IaUmMTe5IFpq1TQ1IzMAz0dyxf_MgJGodX5julNmuVo1Z8y6ijnfFd8bNzKh5GiSXZSPPmpCEYCWMJKT_j4UgQQc1w";
const EC_PEM = "-----BEGIN CERTIFICATE-----\nMIIBOzCB46ADAgECAgkBWGtkxMu6Q5owCgYIKoZIzj0EAwIwGzEZMBcGA1UEAxMQ\nc2VjdXJldG9rZW4udGVzdDAeFw0yNjEyMDExNDQzMzhaFw0yNjEyMDIxNTQzMzha\nMBsxGTAXBgNVBAMTEHNlY3VyZXRva2VuLnRlc3QwWTATBgcqhkjOPQIBBggqhkjO\nPQMBBwNCAARnm9miLVqCGe7wyj4E9UFH0h7eKnBpUguOuZknT4dzakaDS9P7gwLX\nGNSPtdYK/UH+NVyF8ZUqnffAN/fzpjrkoxAwDjAMBgNVHRMBAf8EAjAAMAoGCCqG\nSM49BAMCA0cAMEQCIBIeH9cqGuRf6ciyQhcbL4bbb1XxB000R1J+0aE9uRRxAiAe\nNbmxDxXLXxnwqkBhnzsYJXDqtkMxopShtQzOb8Zwwg==\n-----END CERTIFICATE-----\n";
const EC_X = "Z5vZoi1aghnu8Mo-BPVBR9Ie3ipwaVILjrmZJ0-Hc2o";

describe("Google's X.509 key map", () => {
  it("reads the SubjectPublicKeyInfo of RSA and EC certificates", () => {
    const rsa = certificateJwk("r", RSA_PEM);
    expect<bool>(rsa !== null).toBe(true);
    expect<string>(rsa!.get("kty")!.str).toBe("RSA");
    expect<string>(rsa!.get("n")!.str).toBe(RSA_N);
    expect<string>(rsa!.get("e")!.str).toBe("AQAB");
    expect<string>(rsa!.get("kid")!.str).toBe("r");
    const ec = certificateJwk("e", EC_PEM);
    expect<string>(ec!.get("crv")!.str).toBe("P-256");
    expect<string>(ec!.get("x")!.str).toBe(EC_X);
  });
  it("is a key set; entries that are not certificates are skipped", () => {
    const doc = "{\"r\":" + jsonQuote(RSA_PEM) + ",\"e\":" + jsonQuote(EC_PEM) + ",\"junk\":\"-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n\",\"n\":7}";
    const set = parseJwks(doc, 16);
    expect<bool>(set !== null).toBe(true);
    expect<i32>(set!.keys.length).toBe(2);
    expect<KeyType>(set!.keys[0].type).toBe(KeyType.RSA);
    expect<string>(set!.keys[0].kid!).toBe("r");
    expect<KeyType>(set!.keys[1].type).toBe(KeyType.EC256);
    expect<i32>(set!.skipped.length).toBe(2);
  });
  it("refuses truncated, padded-wrong or non-certificate PEM", () => {
    expect<bool>(certificateJwk("x", RSA_PEM.substring(0, 200) + "\n-----END CERTIFICATE-----") === null).toBe(true);
    expect<bool>(certificateJwk("x", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----") === null).toBe(true);
    expect<bool>(certificateJwk("x", "MIIB") === null).toBe(true);
    expect<bool>(lastX509Error().length > 0).toBe(true);
  });
});

describe("EC keys without crv", () => {
  it("infers the curve from alg or the coordinate length, and refuses a mismatch", () => {
    const x = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
    const y = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
    const set = parseJwks("{\"keys\":[{\"kty\":\"EC\",\"x\":\"" + x + "\",\"y\":\"" + y + "\"},{\"kty\":\"EC\",\"alg\":\"ES256\",\"x\":\"" + x + "\",\"y\":\"" + y + "\"},{\"kty\":\"EC\",\"alg\":\"ES384\",\"x\":\"" + x + "\",\"y\":\"" + y + "\"}]}", 16);
    expect<i32>(set!.keys.length).toBe(2);
    expect<KeyType>(set!.keys[0].type).toBe(KeyType.EC256);
    expect<i32>(set!.skipped.length).toBe(1);
  });
});

describe("OIDC discovery", () => {
  it("splits absolute http(s) URLs", () => {
    const u = splitUrl("https://idp.example.com:8443/realms/shop/certs?v=1#x")!;
    expect<string>(u.scheme).toBe("https");
    expect<string>(u.authority).toBe("idp.example.com:8443");
    expect<string>(u.path).toBe("/realms/shop/certs?v=1");
    expect<string>(splitUrl("http://127.0.0.1:4444")!.path).toBe("/");
    expect<string>(splitUrl("http://h?x=1")!.path).toBe("/?x=1");
    expect<bool>(splitUrl("/certs") === null).toBe(true);
    expect<bool>(splitUrl("file:///etc/keys") === null).toBe(true);
    expect<bool>(splitUrl("https://user@host/") === null).toBe(true);
    expect<bool>(splitUrl("https:///path") === null).toBe(true);
    expect<bool>(splitUrl("https://host/a b") === null).toBe(true);
  });
  it("puts the well-known suffix after the issuer's path", () => {
    expect<string>(discoveryPath(splitUrl("https://accounts.google.com")!)).toBe("/.well-known/openid-configuration");
    expect<string>(discoveryPath(splitUrl("https://idp/realms/shop/")!)).toBe("/realms/shop/.well-known/openid-configuration");
  });
  it("believes a document only for its exact issuer", () => {
    const doc = "{\"issuer\":\"https://idp/realms/shop\",\"jwks_uri\":\"https://keys.idp/certs\"}";
    const u = parseDiscovery(doc, "https://idp/realms/shop", 16)!;
    expect<string>(u.authority).toBe("keys.idp");
    expect<string>(u.path).toBe("/certs");
    expect<bool>(parseDiscovery(doc, "https://idp/realms/shop/", 16) === null).toBe(true);
    expect<bool>(lastDiscoveryError().includes("is for issuer")).toBe(true);
    expect<bool>(parseDiscovery("{\"issuer\":\"https://idp\"}", "https://idp", 16) === null).toBe(true);
    expect<bool>(parseDiscovery("{\"issuer\":\"https://idp\",\"jwks_uri\":7}", "https://idp", 16) === null).toBe(true);
    expect<bool>(parseDiscovery("[]", "https://idp", 16) === null).toBe(true);
    expect<bool>(parseDiscovery("{\"issuer\":\"https://idp\",\"issuer\":\"https://evil\",\"jwks_uri\":\"https://x/\"}", "https://idp", 16) === null).toBe(true);
  });
});
