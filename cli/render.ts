// cell.yaml -> Kubernetes manifests, one object per file, deterministic: objects are built in a
// fixed order with fixed key order, and nothing depends on time, host or absolute paths.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { stringify } from "yaml";
import type { Cell } from "./cell.ts";
import { baseline } from "./manifests/baseline.ts";
import { egress } from "./manifests/egress.ts";
import { serviceAccounts } from "./manifests/identity.ts";
import type { Rendered } from "./manifests/model.ts";
import { stsConfig, stsManifests } from "./manifests/sts.ts";
import { wasmPlugins, type WasmImage } from "./manifests/wasm-plugins.ts";
import { checkPluginConfig, checkStsConfig } from "./schemas.ts";

export const HEADER = "# Rendered by `cellauth render`";

/** All objects of a cell, validated (models, pluginConfig schema, STS config schema). */
/** `stsImage`: the STS image reference (default cell.sts.image, pinned when sts.sha256 is set). */
export function renderCell(cell: Cell, image: WasmImage, stsImage?: string): Rendered[] {
  const plugins = wasmPlugins(cell, image);
  for (const p of plugins) {
    const errors = checkPluginConfig((p.object.spec as Record<string, unknown>).pluginConfig);
    if (errors.length) throw new Error(`${p.file}: pluginConfig does not match config/cellauth.schema.json: ${errors.join("; ")}`);
  }
  const stsErrors = checkStsConfig(stsConfig(cell));
  if (stsErrors?.length) throw new Error(`STS config does not match config/sts.schema.json: ${stsErrors.join("; ")}`);
  return [...baseline(cell), ...serviceAccounts(cell), ...stsManifests(cell, stsImage), ...egress(cell), ...plugins];
}

/** File name -> content, kustomization.yaml included. */
export function renderFiles(cell: Cell, image: WasmImage, stsImage?: string): Map<string, string> {
  const files = new Map<string, string>();
  const header = `${HEADER} from ${basename(cell.file)} (cell ${cell.name}). Do not edit; re-render.\n`;
  for (const r of renderCell(cell, image, stsImage)) {
    const name = `${r.file}.yaml`;
    if (files.has(name)) throw new Error(`two objects render to ${name}`);
    files.set(name, header + stringify(r.object, { lineWidth: 0, aliasDuplicateObjects: false }));
  }
  const kustomization = { apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", resources: [...files.keys()] };
  files.set("kustomization.yaml", header + stringify(kustomization, { lineWidth: 0 }));
  return files;
}

/** Writes the files; removes earlier rendered files (ones with our header) that are gone now. */
export function writeRendered(outDir: string, files: Map<string, string>): string[] {
  mkdirSync(outDir, { recursive: true });
  for (const old of readdirSync(outDir)) {
    if (!old.endsWith(".yaml") || files.has(old)) continue;
    const path = join(outDir, old);
    if (readFileSync(path, "utf8").startsWith(HEADER)) rmSync(path);
  }
  for (const [name, text] of files) writeFileSync(join(outDir, name), text);
  return [...files.keys()];
}
