// Which wasm the WasmPlugins pin. An explicit wasm.sha256 in cell.yaml wins; otherwise an
// oci:// url pins the manifest digest that scripts/build-oci.sh recorded in build/oci/DIGEST
// (Istio checks the pulled manifest's digest), and an http(s)/file url pins the .wasm's sha256.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Cell } from "./cell.ts";
import type { WasmImage } from "./manifests/wasm-plugins.ts";

export const repoRoot = fileURLToPath(new URL("../", import.meta.url));
export const defaultWasm = `${repoRoot}build/cellauth.wasm`;
export const defaultOciDir = `${repoRoot}build/oci`;
export const defaultStsOciDir = `${repoRoot}build/sts-oci`;

/** `image` pinned to a manifest digest: `<repo>[:tag]@sha256:<digest>` (any earlier digest replaced). */
export function pinImage(image: string, sha256?: string): string {
  return sha256 ? `${image.split("@")[0]}@sha256:${sha256}` : image;
}

/**
 * The STS image the Deployment runs. An explicit sts.sha256 in cell.yaml wins; otherwise the
 * digest scripts/build-sts-image.sh recorded in build/sts-oci/DIGEST, when it exists; otherwise
 * the tag alone (a warning: a tag can move).
 */
export function resolveStsImage(cell: Cell, opts: { stsOciDir?: string; warn?: (msg: string) => void } = {}): string {
  if (cell.sts.sha256) return pinImage(cell.sts.image, cell.sts.sha256);
  const digestFile = `${opts.stsOciDir ?? defaultStsOciDir}/DIGEST`;
  if (existsSync(digestFile)) {
    const digest = readFileSync(digestFile, "utf8").trim();
    if (!/^sha256:[a-f0-9]{64}$/.test(digest)) throw new Error(`${digestFile} does not hold a sha256 digest`);
    return pinImage(cell.sts.image, digest.slice("sha256:".length));
  }
  if (!cell.sts.image.includes("@sha256:")) {
    opts.warn?.(`sts.sha256 is not set and ${digestFile} does not exist: the STS Deployment runs ${cell.sts.image} by tag (run scripts/build-sts-image.sh, or set sts.sha256)`);
  }
  return cell.sts.image;
}

export function resolveImage(cell: Cell, opts: { wasm?: string; ociDir?: string } = {}): WasmImage {
  if (cell.wasm.sha256) return { url: cell.wasm.url, sha256: cell.wasm.sha256 };
  if (cell.wasm.url.startsWith("oci://")) {
    const digestFile = `${opts.ociDir ?? defaultOciDir}/DIGEST`;
    if (!existsSync(digestFile)) throw new Error(`wasm.sha256 is not set and ${digestFile} does not exist: run scripts/build-oci.sh, or set wasm.sha256`);
    const digest = readFileSync(digestFile, "utf8").trim();
    if (!/^sha256:[a-f0-9]{64}$/.test(digest)) throw new Error(`${digestFile} does not hold a sha256 digest`);
    return { url: cell.wasm.url, sha256: digest.slice("sha256:".length) };
  }
  const wasm = opts.wasm ?? defaultWasm;
  if (!existsSync(wasm)) throw new Error(`wasm.sha256 is not set and ${wasm} does not exist: run npm run build, or set wasm.sha256`);
  return { url: cell.wasm.url, sha256: createHash("sha256").update(readFileSync(wasm)).digest("hex") };
}
