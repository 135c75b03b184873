#!/usr/bin/env -S npx tsx
// cellauth CLI.
//   cellauth render <cell.yaml> [--out dir] [--wasm file] [--oci-dir dir] [--sts-oci-dir dir]
//   cellauth oci [--wasm build/cellauth.wasm] [--out build/oci] [--tag <package version>]
//   cellauth sts-keys [--alg ES256] [--rotate signing-keys.json]   (the STS keys Secret's content)
//   cellauth opa-auth --out dir [--prefix cellery/io]               (the STS's OPA Secret's content)
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { loadCell } from "./cell.ts";
import { defaultOciDir, defaultWasm, repoRoot, resolveImage, resolveStsImage } from "./image.ts";
import { PLUGIN_NAME } from "./names.ts";
import { readWasm, writeOciLayout } from "./oci.ts";
import { renderFiles, writeRendered } from "./render.ts";
import { KeyStore } from "../sts/keys.ts";
import { setLogSink } from "../sts/log.ts";
import type { SigningAlg } from "../sts/config.ts";
import { newOpaToken, opaAuthzPolicy, OPA_AUTH_POLICY_KEY, OPA_AUTH_TOKEN_KEY } from "../sts/opa-auth.ts";
import { CellError } from "./yaml-source.ts";

const USAGE = `usage:
  cellauth render <cell.yaml> [--out dir] [--wasm file] [--oci-dir dir] [--sts-oci-dir dir]
  cellauth oci [--wasm file] [--out dir] [--tag tag]
  cellauth sts-keys [--alg ES256|RS256] [--rotate signing-keys.json]
  cellauth opa-auth --out dir [--prefix cellery/io]`;

function render(args: string[]): void {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: {
    out: { type: "string" }, wasm: { type: "string" }, "oci-dir": { type: "string" }, "sts-oci-dir": { type: "string" },
  } });
  if (positionals.length !== 1) throw new UsageError("render takes exactly one cell.yaml");
  const cell = loadCell(positionals[0]);
  const image = resolveImage(cell, { wasm: values.wasm, ociDir: values["oci-dir"] });
  const out = resolve(values.out ?? join(dirname(cell.file), "rendered"));
  const stsImage = resolveStsImage(cell, { stsOciDir: values["sts-oci-dir"], warn: (m) => console.error(`cellauth: warning: ${m}`) });
  const files = writeRendered(out, renderFiles(cell, image, stsImage));
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

/**
 * Prints a new signing-keys.json (a current and a next key) for the cell STS's keys Secret, or,
 * with --rotate, the given set rotated once (previous <- current <- next <- a fresh key). Every
 * replica mounts the Secret read-only and reloads it when it changes.
 */
async function stsKeys(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: {
    alg: { type: "string" }, rotate: { type: "string" },
  } });
  if (positionals.length) throw new UsageError("sts-keys takes no positional arguments");
  setLogSink(() => {});
  const dir = mkdtempSync(join(tmpdir(), "cellauth-sts-keys-"));
  try {
    if (values.alg && values.alg !== "ES256" && values.alg !== "RS256") throw new UsageError("--alg is ES256 or RS256");
    let alg = (values.alg ?? "ES256") as SigningAlg;
    if (values.rotate) {
      copyFileSync(values.rotate, join(dir, "signing-keys.json"));
      chmodSync(join(dir, "signing-keys.json"), 0o600);
      const keys = (JSON.parse(readFileSync(values.rotate, "utf8")) as { keys: { state: string; alg: SigningAlg }[] }).keys;
      alg = values.alg ? alg : keys.find((k) => k.state === "current")?.alg ?? alg;
    }
    const store = await KeyStore.open(dir, alg);
    if (values.rotate) await store.rotate();
    process.stdout.write(`${store.serialized()}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Writes the content of a cell STS's OPA Secret (<cell>--sts-service-opa) into `--out`: `token`
 * (a fresh random bearer token, 0600) and `authz.rego` (OPA's system.authz policy, allowing that
 * token to query under `--prefix`, the STS's OPAQueryPrefix). Prints no secret.
 */
function opaAuth(args: string[]): void {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: {
    out: { type: "string" }, prefix: { type: "string" },
  } });
  if (positionals.length) throw new UsageError("opa-auth takes no positional arguments");
  if (!values.out) throw new UsageError("opa-auth needs --out dir");
  const out = resolve(values.out);
  const token = newOpaToken();
  const policy = opaAuthzPolicy({ queryPrefix: values.prefix ?? "cellery/io", token });
  mkdirSync(out, { recursive: true, mode: 0o700 });
  for (const f of [OPA_AUTH_TOKEN_KEY, OPA_AUTH_POLICY_KEY]) if (existsSync(join(out, f))) throw new Error(`${join(out, f)} exists: not overwriting it`);
  writeFileSync(join(out, OPA_AUTH_TOKEN_KEY), token, { mode: 0o600, flag: "wx" });
  writeFileSync(join(out, OPA_AUTH_POLICY_KEY), policy, { mode: 0o600, flag: "wx" });
  console.log(`wrote ${OPA_AUTH_TOKEN_KEY} and ${OPA_AUTH_POLICY_KEY} into ${relative(process.cwd(), out) || "."}`);
}

class UsageError extends Error {}

const [command, ...rest] = process.argv.slice(2);
try {
  if (command === "render") render(rest);
  else if (command === "oci") oci(rest);
  else if (command === "sts-keys") await stsKeys(rest);
  else if (command === "opa-auth") opaAuth(rest);
  else throw new UsageError(command ? `unknown command ${command}` : "no command");
} catch (e) {
  if (e instanceof UsageError) console.error(`cellauth: ${e.message}\n${USAGE}`);
  else if (e instanceof CellError) console.error(`cellauth: ${e.message}`);
  else console.error(`cellauth: ${(e as Error).message}`);
  process.exit(e instanceof UsageError ? 2 : 1);
}
