// The STS image (cli/sts-image.ts, scripts/build-sts-image.sh), built without a container engine:
// - deterministic: an in-process build and a second build by the script give the same manifest
//   digest and byte-identical blobs;
// - its config runs node on the bundle as 1000:1000, and /etc/passwd has that user;
// - its layers, unpacked into a temp root filesystem the way a runtime does, start the STS in
//   isolation: a private mount namespace, the root filesystem bind-mounted read-only, a tmpfs
//   /tmp, the config and a Secret-shaped keys dir (root:1000 0440) mounted read-only, chroot,
//   uid 1000, the image's own Env/Entrypoint/Cmd. /readyz answers 200, the JWKS is the
//   provisioned keys', and SIGTERM ends it with exit 0.
// Skips, saying why, when not root, when unshare/chroot/dpkg-deb are missing, or when a pinned
// input cannot be fetched (sts/image.lock.json).
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildStsImage, imageSize, InputUnavailable, writeStsLayout, type ImageConfig } from "../../cli/sts-image.ts";
import { freePort } from "../lib/ports.ts";
import { repoRoot, waitFor } from "../lib/sts-process.ts";

const tmp = mkdtempSync(join(tmpdir(), "cellauth-sts-image-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

function missingTool(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (mount namespace, chroot, uid 1000)";
  for (const tool of ["unshare", "chroot", "dpkg-deb", "tar", "mount"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    } catch {
      return `${tool} is not installed`;
    }
  }
  try {
    execFileSync("unshare", ["--mount", "--propagation", "private", "true"], { stdio: "pipe" });
  } catch (e) {
    return `unshare --mount does not work here: ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`;
  }
  return undefined;
}

let skip: string | false = missingTool() ?? false;
const a = join(tmp, "a");
const b = join(tmp, "b");
let size = 0;
if (!skip) {
  try {
    const started = Date.now();
    const image = await buildStsImage({ tag: "test" });
    writeStsLayout(a, image, "test");
    size = imageSize(image);
    console.error(`# STS image built in ${Date.now() - started} ms: ${image.digest}, ${(size / 1e6).toFixed(1)} MB`);
  } catch (e) {
    if (!(e instanceof InputUnavailable)) throw e;
    skip = `the image cannot be built here: ${e.message}`;
  }
}
if (skip) console.error(`# SKIP sts-image: ${skip}`);

const blob = (dir: string, digest: string) => readFileSync(join(dir, "blobs/sha256", digest.replace(/^sha256:/, "")));
const digestOf = (dir: string) => readFileSync(join(dir, "DIGEST"), "utf8").trim();
const manifestOf = (dir: string) => JSON.parse(blob(dir, digestOf(dir)).toString()) as { config: { digest: string }; layers: { digest: string; mediaType: string }[] };
const configOf = (dir: string) => JSON.parse(blob(dir, manifestOf(dir).config.digest).toString()) as ImageConfig;

describe("STS image (OCI layout, no container engine)", { skip }, () => {
  it("is deterministic: a second build by scripts/build-sts-image.sh gives the same digest and blobs", () => {
    execFileSync("bash", [join(repoRoot, "scripts/build-sts-image.sh"), "--out", b, "--tag", "test"], { stdio: "pipe" });
    assert.match(digestOf(a), /^sha256:[a-f0-9]{64}$/);
    assert.equal(digestOf(b), digestOf(a));
    const blobs = readdirSync(join(a, "blobs/sha256")).sort();
    assert.deepEqual(readdirSync(join(b, "blobs/sha256")).sort(), blobs);
    for (const f of blobs) assert.ok(readFileSync(join(a, "blobs/sha256", f)).equals(readFileSync(join(b, "blobs/sha256", f))), `blob ${f} differs`);
    assert.deepEqual(JSON.parse(readFileSync(join(a, "index.json"), "utf8")).manifests[0].digest, digestOf(a));
    assert.ok(size > 10e6 && size < 80e6, `image size ${size}`);
  });

  it("runs node on the bundle as 1000:1000; /etc/passwd has uid 1000; no shell, no node_modules, no tsx", () => {
    const config = configOf(a);
    assert.equal(config.config.User, "1000:1000");
    assert.deepEqual(config.config.Entrypoint, ["/usr/local/bin/node", "/app/sts/main.mjs"]);
    assert.deepEqual(config.config.Cmd, ["--config", "/etc/cellauth/sts.json"]);
    assert.equal(manifestOf(a).layers.length, config.rootfs.diff_ids.length);
    const root = unpack();
    assert.match(readFileSync(join(root, "etc/passwd"), "utf8"), /^sts:x:1000:1000:/m);
    assert.match(readFileSync(join(root, "etc/group"), "utf8"), /^sts:x:1000:/m);
    for (const absent of ["bin/sh", "usr/bin", "app/node_modules", "usr/local/lib/node_modules"]) {
      assert.ok(!existsSync(join(root, absent)), `${absent} must not be in the image`);
    }
    assert.ok(!/from ["']tsx/.test(readFileSync(join(root, "app/sts/main.mjs"), "utf8")), "the bundle does not import tsx");
    assert.equal(statSync(join(root, "usr/local/bin/node")).mode & 0o777, 0o755);
  });

  it("starts the STS from its own read-only root filesystem as uid 1000: /readyz 200, provisioned keys, SIGTERM exit 0", async () => {
    const root = unpack();
    const config = configOf(a);
    const port = await freePort();
    const etc = join(tmp, "etc-cellauth");
    const keys = join(tmp, "keys");
    mkdirSync(etc, { mode: 0o755 });
    writeFileSync(join(etc, "sts.json"), JSON.stringify({
      version: "v1", cell: "reviews", namespace: "reviews", port, keysDir: "/var/run/cellauth/keys",
      peerIdentity: "xfcc", enableAuthorization: false, insecureAcknowledgements: ["enableAuthorization"],
    }), { mode: 0o644 });
    // The keys Secret as kubelet mounts it with fsGroup 1000: root-owned, 0440, group 1000.
    mkdirSync(keys, { mode: 0o755 });
    const keysJson = execFileSync(process.execPath, ["--import", "tsx", "cli/cellauth.ts", "sts-keys"], { cwd: repoRoot, encoding: "utf8" });
    writeFileSync(join(keys, "signing-keys.json"), keysJson);
    chownSync(join(keys, "signing-keys.json"), 0, 1000);
    chmodSync(join(keys, "signing-keys.json"), 0o440);
    const [uid, gid] = config.config.User.split(":");
    const script = [
      "set -eu",
      'R="$1"; ETC="$2"; KEYS="$3"; shift 3',
      'mount --bind "$R" "$R"; mount -o remount,bind,ro "$R"',
      'mount -t tmpfs -o size=16m,mode=1777 tmpfs "$R/tmp"',
      'mount --bind "$ETC" "$R/etc/cellauth"; mount -o remount,bind,ro "$R/etc/cellauth"',
      'mount --bind "$KEYS" "$R/var/run/cellauth/keys"; mount -o remount,bind,ro "$R/var/run/cellauth/keys"',
      'mount -t proc proc "$R/proc"',
      'mount --rbind /dev "$R/dev"',
      `exec /usr/bin/env -i ${config.config.Env.map((e) => `'${e}'`).join(" ")} "$(command -v chroot)" --userspec=${uid}:${gid} --groups=${gid} "$R" "$@"`,
    ].join("\n");
    const child = spawn("unshare", ["--mount", "--propagation", "private", "bash", "-c", script, "sts", root, etc, keys, ...config.config.Entrypoint, ...config.config.Cmd], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    try {
      await waitFor("the STS in the image to listen", () => {
        if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${out.slice(-2000)}`);
        return out.includes('"msg":"listening"') ? true : undefined;
      }, 30_000);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      assert.equal(ready.status, 200);
      assert.deepEqual(await ready.json(), { ready: true, keys: true, opa: true });
      const jwks = (await (await fetch(`http://127.0.0.1:${port}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
      const provisioned = (JSON.parse(keysJson) as { keys: { kid: string }[] }).keys.map((k) => k.kid).sort();
      assert.deepEqual(jwks.keys.map((k) => k.kid).sort(), provisioned);
      assert.match(out, /signing keys loaded \(read-only, provisioned\)/);
      const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
      assert.match(status, /^Uid:\s+1000\s+1000\s+1000\s+1000$/m, "runs as uid 1000");
      assert.match(status, /^Gid:\s+1000\s+1000\s+1000\s+1000$/m, "runs as gid 1000");
      assert.equal(readlinkSync(`/proc/${child.pid}/root`), root, "chrooted into the image's root filesystem");
      assert.equal(readlinkSync(`/proc/${child.pid}/exe`), join(root, "usr/local/bin/node"), "the image's own node");
      child.kill("SIGTERM");
      assert.equal(await exited, 0, out.slice(-2000));
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});

let unpacked: string | undefined;
/** The image's layers extracted in order into one directory (no whiteouts in this image). */
function unpack(): string {
  if (unpacked) return unpacked;
  const root = join(tmp, "rootfs");
  mkdirSync(root);
  for (const layer of manifestOf(a).layers) {
    assert.equal(layer.mediaType, "application/vnd.oci.image.layer.v1.tar+gzip");
    execFileSync("tar", ["-xzf", join(a, "blobs/sha256", layer.digest.replace(/^sha256:/, "")), "-C", root, "--numeric-owner", "--same-permissions"]);
  }
  unpacked = root;
  return root;
}
