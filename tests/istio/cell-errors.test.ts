// A bad cell.yaml is refused with the field AND the line, in the library and from the CLI.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseCell, loadCell } from "../../cli/cell.ts";
import { renderFiles } from "../../cli/render.ts";
import { CellError } from "../../cli/yaml-source.ts";

const root = resolve(import.meta.dirname, "../..");
const good = (over: Record<number, string> = {}) => {
  const lines = [
    "name: reviews", //                                 1
    "namespace: reviews", //                            2
    "services:", //                                     3
    "  - name: reviews-service", //                     4
    "    port: 8080", //                                5
    "    paths: [/reviews, /reviews/*]", //             6
    "  - name: customers-service", //                   7
    "    port: 8080", //                                8
    "    paths: ['/customers/{*}']", //                 9
    "    methods: [GET]", //                            10
    "trustedPeers:", //                                 11
    "  - cell: customer-products", //                   12
    "    namespace: customer-products", //              13
    "policies:", //                                     14
    "  - ../../policies/default/cellery.rego", //      15
    "unsecuredPaths: [/reviews/health]", //             16
    "wasm:", //                                         17
    "  url: oci://registry.example/cellauth:0.1.0", //  18
    `  sha256: ${"ab".repeat(32)}`, //                  19
    "sts:", //                                          20
    "  image: registry.example/cellauth-sts:0.1.0", //  21
  ];
  for (const [n, text] of Object.entries(over)) lines[Number(n) - 1] = text;
  return lines.filter((l) => l !== "<drop>").join("\n") + "\n";
};
const sts = "  image: registry.example/cellauth-sts:0.1.0"; // line 21 of good()
// A globalIssuer appended after line 21 (lines 22-24; a missing key is reported at the first line of its parent mapping, 23).
const issuer = "globalIssuer:\n  issuer: https://idp.example\n  jwksUri: https://idp.example/jwks.json";
// Relative policy paths resolve against the file: pretend it lives in tests/istio.
const file = join(root, "tests/istio/cell.yaml");

function errorOf(text: string): CellError {
  try {
    parseCell(file, text);
  } catch (e) {
    assert.ok(e instanceof CellError, `expected a CellError, got ${e}`);
    return e;
  }
  assert.fail("the cell was accepted");
}

describe("cell.yaml errors name the field and the line", () => {
  it("accepts the well-formed definition (the baseline for the cases below)", () => {
    const cell = parseCell(file, good());
    assert.equal(cell.services.length, 2);
    assert.equal(cell.tokenLifetimeSeconds, 300);
  });

  const cases: [string, Record<number, string>, number, string, RegExp][] = [
    ["wrong type", { 8: "    port: eighty" }, 8, "services[1].port", /integer/],
    ["out of range", { 5: "    port: 70000" }, 5, "services[0].port", /integer from 1 to 65535/],
    ["unknown (misspelt) field", { 16: "unsecurePaths: [/reviews/health]" }, 16, "unsecurePaths", /unknown field/],
    ["nested unknown field", { 13: "    namespce: customer-products" }, 13, "trustedPeers[0].namespce", /unknown field/],
    ["bad path syntax", { 6: "    paths: [/reviews, reviews/*]" }, 6, "services[0].paths[1]", /start with '\/'/],
    ["bad template", { 9: "    paths: ['/customers/{*}.json']" }, 9, "services[1].paths[0]", /whole segment/],
    ["bad method", { 10: "    methods: [get]" }, 10, "services[1].methods[0]", /upper-case/],
    ["bad name", { 1: "name: Reviews_Cell" }, 1, "name", /DNS label/],
    ["bad sha256", { 19: "  sha256: sha256:abc" }, 19, "wasm.sha256", /64 lower-case hex/],
    ["bad wasm url scheme", { 18: "  url: ftp://registry.example/cellauth" }, 18, "wasm.url", /oci or http or https or file URL/],
    ["missing field (reported at its parent)", { 21: "  port: 8080" }, 21, "sts.image", /is required/],
    ["duplicate service", { 7: "  - name: reviews-service" }, 7, "services[1].name", /duplicate service name/],
    ["missing policy list", { 14: "<drop>", 15: "<drop>" }, 1, "policies", /is required/],
    ["globalIssuer without audiences", { 21: `${sts}\n${issuer}` }, 23, "globalIssuer.audiences", /is required: the edge token audiences/],
    ["globalIssuer with empty audiences", { 21: `${sts}\n${issuer}\n  audiences: []` }, 25, "globalIssuer.audiences", /at least 1/],
    ["duplicate audience", { 21: `${sts}\n${issuer}\n  audiences: [a, a]` }, 25, "globalIssuer.audiences[1]", /duplicate audience/],
  ];
  for (const [what, change, line, field, reason] of cases) {
    it(what, () => {
      const e = errorOf(good(change));
      assert.equal(e.field, field);
      assert.equal(e.line, line, `line for ${field}: ${e.message}`);
      assert.match(e.reason, reason);
      assert.ok(e.message.startsWith(`${file}:${line}: ${field}: `), e.message);
    });
  }

  it("a globalIssuer with audiences is accepted, and the gateway plugin always carries them", () => {
    const cell = parseCell(file, good({ 21: `${sts}\n${issuer}\n  audiences: [https://shop.example]` }));
    assert.deepEqual(cell.globalIssuer?.audiences, ["https://shop.example"]);
    const files = renderFiles(cell, { url: cell.wasm.url, sha256: cell.wasm.sha256! });
    const gw = files.get("wasmplugin-reviews-cellauth-gateway.yaml") ?? "";
    assert.match(gw, /audiences:\n\s+- https:\/\/shop\.example/);
  });

  it("invalid YAML reports its line", () => {
    const e = errorOf(good({ 12: "  - cell: [customer-products" }));
    assert.ok(e.line >= 12, e.message);
    assert.match(e.reason, /invalid YAML/);
  });

  it("a policy file that does not exist is reported at its line when rendering", () => {
    const cell = parseCell(file, good({ 15: "  - ../../policies/default/nope.rego" }));
    assert.throws(() => renderFiles(cell, { url: cell.wasm.url, sha256: cell.wasm.sha256! }),
      (e: unknown) => e instanceof CellError && e.line === 15 && e.field === "policies" && /ENOENT/.test(e.reason));
  });

  it("the CLI exits 1 and prints file:line: field: reason", () => {
    const dir = mkdtempSync(join(tmpdir(), "cellauth-badcell-"));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const bad = join(dir, "cell.yaml");
    writeFileSync(bad, good({ 8: "    port: eighty" }));
    const r = spawnSync(process.execPath, ["--import", "tsx", join(root, "cli/cellauth.ts"), "render", bad, "--out", join(dir, "out")], { encoding: "utf8", cwd: root });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`cell\\.yaml:8: services\\[1\\]\\.port: must be an integer`));
    assert.throws(() => loadCell(join(dir, "missing.yaml")), CellError);
  });
});
