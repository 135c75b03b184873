// The Wasm OCI image layout (compat variant of the Wasm Image Specification, as Istio's
// fetcher reads it): content-addressed blobs, the media types Istio accepts, plugin.wasm
// byte-identical inside the layer (unpacked by the system's GNU tar), a deterministic digest,
// and that digest pinned by `render` when cell.yaml gives no sha256.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { parseCell } from "../../cli/cell.ts";
import { resolveImage } from "../../cli/image.ts";
import { MEDIA, readWasm, writeOciLayout } from "../../cli/oci.ts";
import { ensureFilterBuilt } from "../lib/build-filter.ts";

const root = resolve(import.meta.dirname, "../..");
const sha = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const blob = (dir: string, digest: string) => readFileSync(join(dir, "blobs/sha256", digest.slice(7)));

describe("Wasm OCI image layout", () => {
  let tmp: string;
  let wasm: Buffer;
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), "cellauth-oci-"));
    wasm = readWasm(ensureFilterBuilt());
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it("is an OCI image layout whose blobs are content-addressed", () => {
    const dir = join(tmp, "a");
    const image = writeOciLayout(dir, wasm, { rootId: "cellauth", tag: "0.1.0" });
    assert.deepEqual(JSON.parse(readFileSync(join(dir, "oci-layout"), "utf8")), { imageLayoutVersion: "1.0.0" });
    const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
    assert.equal(index.schemaVersion, 2);
    assert.equal(index.manifests.length, 1);
    assert.equal(index.manifests[0].digest, image.digest);
    assert.equal(index.manifests[0].annotations["org.opencontainers.image.ref.name"], "0.1.0");
    for (const f of readdirSync(join(dir, "blobs/sha256"))) {
      assert.equal(sha(readFileSync(join(dir, "blobs/sha256", f))), `sha256:${f}`, `blob ${f} is not addressed by its sha256`);
    }
    assert.equal(readFileSync(join(dir, "DIGEST"), "utf8"), `${image.digest}\n`);
    assert.equal(blob(dir, image.digest).length, index.manifests[0].size);
  });

  it("is the compat variant: one tar+gzip layer with plugin.wasm, annotated module.wasm.image/variant=compat", () => {
    const dir = join(tmp, "b");
    const image = writeOciLayout(dir, wasm, { rootId: "cellauth", tag: "t" });
    const manifest = JSON.parse(blob(dir, image.digest).toString());
    assert.equal(manifest.schemaVersion, 2);
    assert.equal(manifest.mediaType, MEDIA.manifest);
    assert.equal(manifest.mediaType, "application/vnd.oci.image.manifest.v1+json");
    assert.equal(manifest.config.mediaType, "application/vnd.oci.image.config.v1+json");
    assert.equal(manifest.layers.length, 1);
    assert.equal(manifest.layers[0].mediaType, "application/vnd.oci.image.layer.v1.tar+gzip");
    assert.equal(manifest.annotations["module.wasm.image/variant"], "compat");
    const layer = blob(dir, manifest.layers[0].digest);
    assert.equal(layer.length, manifest.layers[0].size);
    // The config's diff_id is the digest of the UNcompressed layer, as OCI requires.
    const config = JSON.parse(blob(dir, manifest.config.digest).toString());
    assert.deepEqual(config.rootfs, { type: "layers", diff_ids: [sha(gunzipSync(layer))] });
    // An independent tar implementation unpacks it.
    const out = join(tmp, "unpacked");
    mkdirSync(out);
    execFileSync("tar", ["-xzf", join(dir, "blobs/sha256", manifest.layers[0].digest.slice(7)), "-C", out]);
    assert.deepEqual(readdirSync(out).sort(), ["plugin.wasm", "runtime-config.json"]);
    assert.ok(readFileSync(join(out, "plugin.wasm")).equals(wasm), "plugin.wasm is the filter, byte for byte");
    assert.deepEqual(JSON.parse(readFileSync(join(out, "runtime-config.json"), "utf8")).config.rootIds, ["cellauth"]);
  });

  it("has a deterministic digest that changes with the module", () => {
    const one = writeOciLayout(join(tmp, "c1"), wasm, { rootId: "cellauth", tag: "0.1.0" });
    const two = writeOciLayout(join(tmp, "c2"), wasm, { rootId: "cellauth", tag: "0.1.0" });
    assert.equal(two.digest, one.digest);
    for (const f of readdirSync(join(tmp, "c1", "blobs/sha256"))) {
      assert.ok(readFileSync(join(tmp, "c1/blobs/sha256", f)).equals(readFileSync(join(tmp, "c2/blobs/sha256", f))));
    }
    const changed = Buffer.from(wasm);
    changed[changed.length - 1] ^= 1;
    assert.notEqual(writeOciLayout(join(tmp, "c3"), changed, { rootId: "cellauth", tag: "0.1.0" }).digest, one.digest);
  });

  it("refuses a file that is not WebAssembly", () => {
    const f = join(tmp, "not.wasm");
    writeFileSync(f, "hello world");
    assert.throws(() => readWasm(f), /not a WebAssembly module/);
  });

  it("render pins the layout's manifest digest when cell.yaml has no sha256 (oci://), the .wasm's sha256 otherwise", () => {
    const dir = join(tmp, "d");
    const image = writeOciLayout(dir, wasm, { rootId: "cellauth", tag: "0.1.0" });
    const text = (url: string) => [
      "name: c", "namespace: c", "services: [{name: s, port: 8080, paths: [/]}]", "policies: [../../policies/default/cellery.rego]",
      `wasm: {url: '${url}'}`, "sts: {image: sts:1}",
    ].join("\n");
    const cellFile = join(root, "tests/istio/cell.yaml");
    const oci = resolveImage(parseCell(cellFile, text("oci://registry.example/cellauth:0.1.0")), { ociDir: dir });
    assert.equal(oci.sha256, image.digest.slice(7));
    const http = resolveImage(parseCell(cellFile, text("https://files.example/cellauth.wasm")), { wasm: ensureFilterBuilt() });
    assert.equal(http.sha256, sha(wasm).slice(7));
    assert.throws(() => resolveImage(parseCell(cellFile, text("oci://r/c:1")), { ociDir: join(tmp, "none") }), /build-oci\.sh/);
  });
});

// Istio's own fetcher (istio.io/istio/pkg/wasm, what istio-agent runs for an oci:// WasmPlugin)
// pulls the image from an in-memory registry: built by scripts/install-istioctl.sh.
const fetcher = join(root, ".tools/bin/cellauth-ocifetch");
describe("Istio's Wasm image fetcher pulls the image", { skip: existsSync(fetcher) ? false : "no .tools/bin/cellauth-ocifetch: run scripts/install-istioctl.sh" }, () => {
  it("extracts plugin.wasm byte for byte and reports the manifest digest that WasmPlugin.sha256 pins", () => {
    const dir = mkdtempSync(join(tmpdir(), "cellauth-ocifetch-"));
    try {
      const wasm = readWasm(ensureFilterBuilt());
      const image = writeOciLayout(join(dir, "oci"), wasm, { rootId: "cellauth", tag: "0.1.0" });
      const out = execFileSync(fetcher, [join(dir, "oci"), "0.1.0"], { encoding: "utf8", timeout: 60_000, stdio: ["ignore", "pipe", "pipe"] });
      const result = JSON.parse(out.trim().split("\n").filter((l) => l.startsWith("{")).pop()!);
      assert.equal(`sha256:${result.digest}`, image.digest);
      assert.equal(result.sha256, sha(wasm).slice(7));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
