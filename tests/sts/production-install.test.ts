// The production install: `npm ci --omit=dev` of the lockfile (in a temp copy) is enough to run
// the STS. The STS is bundled with esbuild leaving every package import to node_modules, so
// each package it imports must come from `dependencies`; the bundle then starts on plain node
// (no tsx) against that node_modules, answers /readyz and /token, and stops on SIGTERM.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { bundleSts, TOOL_ENV } from "../../cli/sts-image.ts";
import { repoRoot, waitFor } from "../lib/sts-process.ts";

const dir = mkdtempSync(join(tmpdir(), "cellauth-prod-install-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("npm ci --omit=dev yields an STS that starts without dev dependencies", { timeout: 600_000 }, async (t) => {
  copyFileSync(join(repoRoot, "package.json"), join(dir, "package.json"));
  copyFileSync(join(repoRoot, "package-lock.json"), join(dir, "package-lock.json"));
  try {
    // A cache of its own: the shared one may be written by another npm at the same moment, which
    // once made this npm crash ("Cannot read properties of undefined (reading 'ajv')").
    // The user's npm, as a user runs it (not node_modules/.bin's npm@6, no npm_* variables of a parent npm).
    const env = TOOL_ENV;
    await promisify(execFile)("npm", ["ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--cache", join(dir, ".npm-cache")], { cwd: dir, env, timeout: 480_000 });
  } catch (e) {
    const why = String((e as { stderr?: string }).stderr ?? (e as Error).message);
    if (/ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|network/i.test(why)) {
      console.error(`# SKIP production install: the npm registry is unreachable: ${why.trim().split("\n").pop()}`);
      t.skip("the npm registry is unreachable");
      return;
    }
    throw e;
  }
  const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  for (const dev of Object.keys(pkg.devDependencies)) assert.ok(!existsSync(join(dir, "node_modules", dev)), `dev dependency ${dev} was installed`);
  assert.ok(!existsSync(join(dir, "node_modules/esbuild")), "esbuild (tsx's) was installed");

  // Every package the STS imports is a production dependency.
  const bundle = (await bundleSts({ external: true })).toString();
  const imported = new Set([...bundle.matchAll(/(?:from|import)\s*\(?\s*["']([^"'./][^"']*)["']/g)].map((m) => m[1]));
  const packages = [...imported]
    .filter((s) => !s.startsWith("node:") && !builtinModules.includes(s))
    .map((s) => (s.startsWith("@") ? s.split("/").slice(0, 2).join("/") : s.split("/")[0]));
  assert.ok(packages.length >= 4, `expected the STS's packages, found ${packages.join(", ")}`);
  for (const p of new Set(packages)) assert.ok(p in pkg.dependencies, `the STS imports ${p}, which is not in dependencies`);

  mkdirSync(join(dir, "sts"));
  mkdirSync(join(dir, "config"));
  writeFileSync(join(dir, "sts/main.mjs"), bundle);
  copyFileSync(join(repoRoot, "config/sts.schema.json"), join(dir, "config/sts.schema.json"));
  writeFileSync(join(dir, "sts.json"), JSON.stringify({
    version: "v1", cell: "reviews", namespace: "reviews", port: 0, keysDir: "keys",
    peerIdentity: "xfcc", enableAuthorization: false, insecureAcknowledgements: ["enableAuthorization"],
  }));
  const child = spawn(process.execPath, ["sts/main.mjs", "--config", "sts.json"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_ENV: "production" } });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
  try {
    const port = await waitFor("the production STS to listen", () => {
      if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${out.slice(-2000)}`);
      const m = /"port":(\d+)[^\n]*"msg":"listening"/.exec(out);
      return m ? Number(m[1]) : undefined;
    }, 30_000);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    assert.equal(ready.status, 200, await ready.clone().text());
    const token = await fetch(`http://127.0.0.1:${port}/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-forwarded-client-cert": "URI=spiffe://cluster.local/ns/reviews/sa/reviews-service" },
      body: "grant_type=urn:ietf:params:oauth:grant-type:token-exchange&subject_token=x&subject_token_type=urn:ietf:params:oauth:token-type:jwt&audience=reviews",
    });
    assert.equal(token.status, 400);
    child.kill("SIGTERM");
    assert.equal(await exited, 0, out.slice(-2000));
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
});
