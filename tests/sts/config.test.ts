// Config validation: schema, secure defaults, and the checks beyond the schema.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig, loadConfigFile, ConfigError, allowedAudiences, insecureSwitches } from "../../sts/config.ts";

const dir = mkdtempSync(join(tmpdir(), "cellauth-config-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const minimal = { version: "v1", cell: "reviews", keysDir: "/tmp/x" };

test("a missing flag means the secure default", () => {
  const { config, unsecured } = parseConfig(minimal);
  assert.equal(config.enableSignatureValidation, true);
  assert.equal(config.enableIssuerValidation, true);
  assert.equal(config.enableAudienceValidation, true);
  assert.equal(config.enableAuthorization, true);
  assert.equal(config.allowTokenWithoutSubject, false);
  assert.equal(config.enableAdminEndpoints, false);
  assert.equal(config.opa.includeRawToken, false);
  assert.deepEqual(config.unsecuredPaths, []);
  assert.equal(unsecured.length, 0);
  assert.equal(config.signingAlg, "ES256");
  assert.equal(config.tokenLifetimeSeconds, 300);
  assert.equal(config.clockSkewSeconds, 60);
  assert.equal(config.OPAQueryPrefix, "cellery/io");
  assert.equal(config.namespace, "default");
  assert.equal(config.trustDomain, "cluster.local");
  assert.equal(config.peerIdentity, "tls");
  assert.equal(config.tls, undefined, "no tls: /token, /authorize and /admin refuse every caller");
});

test("tokenExchange.allowed defaults to own cell and every trusted peer, for every workload", () => {
  const { config } = parseConfig({ ...minimal, trustedPeers: [{ cell: "customer-products", jwksUri: "https://127.0.0.1:1/j" }] });
  assert.deepEqual([...allowedAudiences(config, "reviews-service")].sort(), ["customer-products", "reviews"]);
  const limited = parseConfig({
    ...minimal,
    trustedPeers: [{ cell: "customer-products", jwksUri: "https://127.0.0.1:1/j" }],
    tokenExchange: { allowed: [{ workload: "reviews-service", audiences: ["customer-products"] }] },
  }).config;
  assert.deepEqual([...allowedAudiences(limited, "reviews-service")], ["customer-products"]);
  assert.deepEqual([...allowedAudiences(limited, "ratings-service")], []);
});

test("peers get the default namespace; unsecured paths compile", () => {
  const { config, unsecured } = parseConfig({
    ...minimal,
    trustedPeers: [{ cell: "customer-products", jwksUri: "http://127.0.0.1:1/.well-known/jwks.json" }],
    unsecuredPaths: ["^/healthz$"],
  });
  assert.equal(config.trustedPeers[0].namespace, "default");
  assert.ok(unsecured[0].test("/healthz"));
  assert.ok(!unsecured[0].test("/healthz/x"));
});

const bad: [string, Record<string, unknown>, RegExp][] = [
  ["unknown field", { ...minimal, enableSignatureValidaton: false }, /additional properties/],
  ["wrong version", { ...minimal, version: "v2" }, /version/],
  ["bad cell name", { ...minimal, cell: "Reviews!" }, /cell/],
  ["bad alg", { ...minimal, signingAlg: "HS256" }, /signingAlg/],
  ["flag as string", { ...minimal, enableAuthorization: "false" }, /enableAuthorization/],
  ["globalJWKS with neither uri nor jwks", { ...minimal, globalJWKS: { issuer: "x", audiences: ["a"] } }, /globalJWKS/],
  ["globalJWKS without audiences", { ...minimal, globalJWKS: { issuer: "x", jwks: { keys: [] } } }, /audiences/],
  ["globalJWKS with empty audiences", { ...minimal, globalJWKS: { issuer: "x", jwks: { keys: [] }, audiences: [] } }, /audiences/],
  ["tls without caFile", { ...minimal, tls: { certFile: "a", keyFile: "b" } }, /caFile/],
  ["xfcc with tls", { ...minimal, peerIdentity: "xfcc", tls: { certFile: "a", keyFile: "b", caFile: "c" } }, /xfcc/],
  ["unknown peerIdentity", { ...minimal, peerIdentity: "header" }, /peerIdentity/],
  ["admin endpoints without adminPrincipals", { ...minimal, enableAdminEndpoints: true }, /adminPrincipals/],
  ["signature validation off without acknowledgement", { ...minimal, enableSignatureValidation: false }, /enableSignatureValidation is false/],
  ["issuer validation off, another switch acknowledged", { ...minimal, enableIssuerValidation: false, insecureAcknowledgements: ["enableAuthorization"] }, /enableIssuerValidation/],
  ["audience validation off without acknowledgement", { ...minimal, enableAudienceValidation: false }, /enableAudienceValidation/],
  ["authorization off without acknowledgement", { ...minimal, enableAuthorization: false }, /enableAuthorization/],
  ["catch-all unsecuredPaths .*", { ...minimal, unsecuredPaths: [".*"] }, /match every path/],
  ["catch-all unsecuredPaths ^/", { ...minimal, unsecuredPaths: ["^/healthz$", "^/"] }, /match every path/],
  ["catch-all unsecuredPaths (empty alternative)", { ...minimal, unsecuredPaths: ["^/healthz|"] }, /match every path/],
  ["allowed audience that is no known cell", { ...minimal, tokenExchange: { allowed: [{ workload: "*", audiences: ["payments"] }] } }, /payments/],
  ["bad regex", { ...minimal, unsecuredPaths: ["(unclosed"] }, /invalid regular expression/],
  ["duplicate peer", { ...minimal, trustedPeers: [{ cell: "a", jwksUri: "http://h/j" }, { cell: "a", jwksUri: "http://h/k" }] }, /twice/],
  ["OPA prefix with traversal", { ...minimal, OPAQueryPrefix: "cellery/../x" }, /OPAQueryPrefix/],
  ["missing keysDir", { version: "v1", cell: "reviews" }, /keysDir/],
];
for (const [name, raw, why] of bad) {
  test(`rejects: ${name}`, () => {
    assert.throws(() => parseConfig(raw), (e: unknown) => e instanceof ConfigError && why.test(e.message));
  });
}

test("weakened switches load only when acknowledged, and are reported", () => {
  const loaded = parseConfig({
    ...minimal,
    enableSignatureValidation: false,
    unsecuredPaths: [".*"],
    insecureAcknowledgements: ["enableSignatureValidation", "unsecuredPathsCatchAll"],
  });
  assert.deepEqual(insecureSwitches(loaded.config, loaded.unsecured), ["enableSignatureValidation", "unsecuredPathsCatchAll"]);
  const normal = parseConfig({ ...minimal, unsecuredPaths: ["^/healthz$", "^/reviews/public(/|$)"] });
  assert.deepEqual(insecureSwitches(normal.config, normal.unsecured), []);
  assert.deepEqual(parseConfig({ ...minimal, enableAdminEndpoints: true, adminPrincipals: ["spiffe://cluster.local/ns/ops/sa/rotator"] }).config.adminPrincipals, ["spiffe://cluster.local/ns/ops/sa/rotator"]);
});

test("a file: relative keysDir is resolved against the config file; broken JSON is a ConfigError", () => {
  const path = join(dir, "sts.json");
  writeFileSync(path, JSON.stringify({ ...minimal, keysDir: "keys" }));
  assert.equal(loadConfigFile(path).config.keysDir, join(dir, "keys"));
  writeFileSync(path, "{ not json");
  assert.throws(() => loadConfigFile(path), /not valid JSON/);
});

test("opa.tokenFile is read at load (relative to the config file, trailing newline dropped); unreadable or empty refuses the config naming the field", () => {
  const path = join(dir, "sts-opa.json");
  writeFileSync(join(dir, "opa-token"), "s3cret-Token_value\n");
  writeFileSync(path, JSON.stringify({ ...minimal, opa: { url: "http://127.0.0.1:8181", tokenFile: "opa-token" } }));
  const loaded = loadConfigFile(path);
  assert.equal(loaded.config.opa.tokenFile, join(dir, "opa-token"));
  assert.equal(loaded.opaToken, "s3cret-Token_value");
  assert.ok(!JSON.stringify(loaded.config).includes("s3cret"), "the token is not part of the config object (which may be logged)");
  // Not set: no token (and a warning at load; see warnInsecure).
  writeFileSync(path, JSON.stringify(minimal));
  assert.equal(loadConfigFile(path).opaToken, undefined);
  for (const [why, content, re] of [
    ["missing", undefined, /^opa\.tokenFile: cannot read .*ENOENT/],
    ["empty", "", /^opa\.tokenFile: .* is empty/],
    ["whitespace only", " \n", /^opa\.tokenFile: .* is empty/],
    ["a header-breaking character", "abc\r\nx-evil: 1", /^opa\.tokenFile: .*cannot be sent in a header/],
  ] as const) {
    const file = join(dir, `opa-token-${why.replace(/\W/g, "-")}`);
    if (content !== undefined) writeFileSync(file, content);
    writeFileSync(path, JSON.stringify({ ...minimal, opa: { tokenFile: file } }));
    assert.throws(() => loadConfigFile(path), (e: unknown) => e instanceof ConfigError && re.test(e.message), why);
  }
  writeFileSync(path, JSON.stringify({ ...minimal, opa: { tokenFile: "" } }));
  assert.throws(() => loadConfigFile(path), /opa\/tokenFile/);
});
