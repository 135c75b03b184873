#!/usr/bin/env -S npx tsx
// cellauth CLI.
//   cellauth render <cell.yaml> [--out dir] [--wasm file] [--oci-dir dir]
//   cellauth oci [--wasm build/cellauth.wasm] [--out build/oci] [--tag <package version>]
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { loadCell } from "./cell.ts";
import { defaultOciDir, defaultWasm, repoRoot, resolveImage } from "./image.ts";
import { PLUGIN_NAME } from "./names.ts";
import { readWasm, writeOciLayout } from "./oci.ts";
import { renderFiles, writeRendered } from "./render.ts";
import { CellError } from "./yaml-source.ts";

const USAGE = `usage:
  cellauth render <cell.yaml> [--out dir] [--wasm file] [--oci-dir dir]
  cellauth oci [--wasm file] [--out dir] [--tag tag]`;

function render(args: string[]): void {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: {
    out: { type: "string" }, wasm: { type: "string" }, "oci-dir": { type: "string" },
  } });
  if (positionals.length !== 1) throw new UsageError("render takes exactly one cell.yaml");
  const cell = loadCell(positionals[0]);
  const image = resolveImage(cell, { wasm: values.wasm, ociDir: values["oci-dir"] });
  const out = resolve(values.out ?? join(dirname(cell.file), "rendered"));
  const files = writeRendered(out, renderFiles(cell, image));
  console.log(`rendered cell ${cell.name} (${files.length} files) into ${relative(process.cwd(), out) || "."}`);
  for (const f of files) console.log(`  ${f}`);
}

function oci(args: string[]): void {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: {
    wasm: { type: "string" }, out: { type: "string" }, tag: { type: "string" },
  } });
  if (positionals.length) throw new UsageError("oci takes no positional arguments");
  const version = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")).version as string;
  const wasm = values.wasm ?? defaultWasm;
  const out = resolve(values.out ?? defaultOciDir);
  const image = writeOciLayout(out, readWasm(wasm), { rootId: PLUGIN_NAME, tag: values.tag ?? version });
  console.log(`OCI image layout ${relative(process.cwd(), out)} (tag ${values.tag ?? version})`);
  console.log(`manifest digest ${image.digest}`);
}

class UsageError extends Error {}

const [command, ...rest] = process.argv.slice(2);
try {
  if (command === "render") render(rest);
  else if (command === "oci") oci(rest);
  else throw new UsageError(command ? `unknown command ${command}` : "no command");
} catch (e) {
  if (e instanceof UsageError) console.error(`cellauth: ${e.message}\n${USAGE}`);
  else if (e instanceof CellError) console.error(`cellauth: ${e.message}`);
  else console.error(`cellauth: ${(e as Error).message}`);
  process.exit(e instanceof UsageError ? 2 : 1);
}
