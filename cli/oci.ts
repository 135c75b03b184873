// Packs the filter as a Wasm OCI image without Docker: an OCI image layout directory
// (oci-layout, index.json, blobs/sha256/...) in the *compat* variant of the Wasm Image
// Specification that Istio's fetcher accepts: exactly one application/vnd.oci.image.layer.v1.tar+gzip
// layer holding plugin.wasm, and the manifest annotation module.wasm.image/variant=compat.
// Everything is deterministic (fixed tar headers, gzip mtime 0), so the same .wasm always
// gives the same manifest digest, which is the sha256 a WasmPlugin with an oci:// url pins
// (Istio compares it with the pulled manifest's digest).
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

export const MEDIA = {
  index: "application/vnd.oci.image.index.v1+json",
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar+gzip",
} as const;

export interface Descriptor { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }

const sha256 = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** One ustar header + data for a regular file, owner root, mode 0644, mtime 0. */
function tarEntry(name: string, data: Buffer): Buffer {
  const h = Buffer.alloc(512, 0);
  const put = (s: string, off: number, len: number) => h.write(s, off, len, "ascii");
  const octal = (n: number, len: number) => n.toString(8).padStart(len - 1, "0") + "\0";
  put(name, 0, 100);
  put(octal(0o644, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(data.length, 12), 124, 12);
  put(octal(0, 12), 136, 12);
  put("        ", 148, 8); // checksum is computed with this field as spaces
  put("0", 156, 1);
  put("ustar\0", 257, 6);
  put("00", 263, 2);
  let sum = 0;
  for (const b of h) sum += b;
  put(octal(sum, 7) + " ", 148, 8);
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512, 0);
  return Buffer.concat([h, data, pad]);
}

export function tarOf(files: [string, Buffer][]): Buffer {
  return Buffer.concat([...files.map(([n, d]) => tarEntry(n, d)), Buffer.alloc(1024, 0)]);
}

/** Deterministic gzip: the same bytes whatever platform zlib was built for. */
export function gzip(b: Buffer, level = 9): Buffer {
  const z = gzipSync(b, { level });
  z[9] = 0xff; // OS byte "unknown"
  return z;
}

export interface OciImage { digest: string; manifest: Descriptor; layer: Descriptor; config: Descriptor; blobs: Map<string, Buffer> }

/** Builds the blobs of the image in memory. */
export function buildWasmImage(wasm: Buffer, opts: { rootId: string }): OciImage {
  // runtime-config.json: the spec's optional metadata, naming the root id Envoy must use.
  const runtimeConfig = Buffer.from(`${JSON.stringify({ type: "envoy_proxy", abiVersions: ["v0_2_1"], config: { rootIds: [opts.rootId] } })}\n`);
  const tar = tarOf([["plugin.wasm", wasm], ["runtime-config.json", runtimeConfig]]);
  const layerBlob = gzip(tar);
  const configBlob = Buffer.from(JSON.stringify({
    architecture: "wasm",
    os: "wasip1",
    config: {},
    rootfs: { type: "layers", diff_ids: [sha256(tar)] },
  }));
  const layer: Descriptor = { mediaType: MEDIA.layer, digest: sha256(layerBlob), size: layerBlob.length };
  const config: Descriptor = { mediaType: MEDIA.config, digest: sha256(configBlob), size: configBlob.length };
  const manifestBlob = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    config,
    layers: [layer],
    annotations: { "module.wasm.image/variant": "compat", "org.opencontainers.image.title": `${opts.rootId}.wasm` },
  }));
  const manifest: Descriptor = { mediaType: MEDIA.manifest, digest: sha256(manifestBlob), size: manifestBlob.length };
  const blobs = new Map([[layer.digest, layerBlob], [config.digest, configBlob], [manifest.digest, manifestBlob]]);
  return { digest: manifest.digest, manifest, layer, config, blobs };
}

/** Writes the OCI image layout to `dir` (replacing it) and `dir`/DIGEST; returns the manifest digest. */
export function writeOciLayout(dir: string, wasm: Buffer, opts: { rootId: string; tag: string }): OciImage {
  const image = buildWasmImage(wasm, opts);
  writeLayout(dir, image, opts.tag);
  return image;
}

/** Writes any image's blobs as an OCI image layout to `dir` (replacing it), tagged `tag`, and `dir`/DIGEST. */
export function writeLayout(dir: string, image: { digest: string; manifest: Descriptor; blobs: Map<string, Buffer> }, tag: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "blobs", "sha256"), { recursive: true });
  for (const [digest, blob] of image.blobs) writeFileSync(join(dir, "blobs", "sha256", digest.slice("sha256:".length)), blob);
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(join(dir, "index.json"), JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA.index,
    manifests: [{ ...image.manifest, annotations: { "org.opencontainers.image.ref.name": tag } }],
  }));
  writeFileSync(join(dir, "DIGEST"), `${image.digest}\n`);
}

export function readWasm(path: string): Buffer {
  const wasm = readFileSync(path);
  if (wasm.length < 8 || wasm.readUInt32LE(0) !== 0x6d736100) throw new Error(`${path} is not a WebAssembly module`);
  return wasm;
}
