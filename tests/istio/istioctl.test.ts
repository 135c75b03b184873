// `istioctl validate -f` on freshly rendered example cells, when scripts/install-istioctl.sh
// could build istioctl from the Go module proxy; otherwise skipped with the recorded reason.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadCell } from "../../cli/cell.ts";
import { renderFiles, writeRendered } from "../../cli/render.ts";

const root = resolve(import.meta.dirname, "../..");
const istioctl = join(root, ".tools/bin/istioctl");
const unavailable = join(root, ".tools/istioctl.unavailable");
const skipReason = existsSync(istioctl)
  ? false
  : existsSync(unavailable)
    ? `istioctl could not be built: ${readFileSync(unavailable, "utf8").split("\n")[0]}`
    : "istioctl is not built: run scripts/install-istioctl.sh once";

function validate(...dirs: string[]): { status: number | null; output: string } {
  const r = spawnSync(istioctl, ["validate", ...dirs.flatMap((d) => ["-f", d])], { encoding: "utf8", timeout: 60_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe("istioctl validate -f on the rendered cells", { skip: skipReason }, () => {
  let tmp: string;
  const dirs: string[] = [];
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), "cellauth-istioctl-"));
    for (const cell of ["reviews", "customer-products"]) {
      const c = loadCell(join(root, "istio/examples", cell, "cell.yaml"));
      const out = join(tmp, cell);
      writeRendered(out, renderFiles(c, { url: c.wasm.url, sha256: c.wasm.sha256! }));
      dirs.push(out);
    }
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  // The one warning allowed: istioctl flags every EnvoyFilter as an internal API. The cell's
  // hardened-HTTP EnvoyFilter is deliberate (Istio has no other API for underscore headers); its
  // patch is checked by istiod and real Envoy in control-plane.test.ts.
  const ENVOYFILTER_WARNING = /^\s*\* EnvoyFilter\/[\w-]+\/cellauth-hardened-http: EnvoyFilter exposes internal implementation details/;

  it("accepts every file, without warnings but the EnvoyFilter notice", () => {
    const r = validate(...dirs);
    assert.equal(r.status, 0, r.output);
    for (const dir of dirs) {
      for (const f of readdirSync(dir)) {
        const ok = r.output.includes(`"${join(dir, f)}" is valid`) || (f === "envoyfilter-cellauth-hardened-http.yaml" && r.output.includes(`"${join(dir, f)}" has warnings`));
        assert.ok(ok, `${f} not reported valid:\n${r.output}`);
      }
    }
    const other = r.output.split("\n").filter((l) => l.trim() && !/" is valid$/.test(l) && !/envoyfilter-cellauth-hardened-http\.yaml" has warnings: $/.test(l) && !ENVOYFILTER_WARNING.test(l));
    assert.deepEqual(other, [], "istioctl printed warnings");
  });

  it("rejects a WasmPlugin with a bad failStrategy (the check is live)", () => {
    const dir = join(tmp, "bad");
    const src = join(dirs[0], "wasmplugin-reviews-service-cellauth-inbound.yaml");
    writeRendered(dir, new Map([["w.yaml", readFileSync(src, "utf8").replace("failStrategy: FAIL_CLOSE", "failStrategy: FAIL_SOMETIMES")]]));
    const r = validate(dir);
    assert.notEqual(r.status, 0);
    assert.match(r.output, /FailStrategy/);
  });
});

// Keep the write helper honest about what it may delete: only files it rendered before.
describe("writeRendered keeps files it did not render", () => {
  it("removes stale rendered files only", () => {
    const dir = mkdtempSync(join(tmpdir(), "cellauth-write-"));
    try {
      writeFileSync(join(dir, "mine.yaml"), "kind: Mine\n");
      writeRendered(dir, new Map([["a.yaml", "# Rendered by `cellauth render` x\n"], ["b.yaml", "# Rendered by `cellauth render` x\n"]]));
      writeRendered(dir, new Map([["a.yaml", "# Rendered by `cellauth render` x\n"]]));
      assert.deepEqual(readdirSync(dir).sort(), ["a.yaml", "mine.yaml"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
