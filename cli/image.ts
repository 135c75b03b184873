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
