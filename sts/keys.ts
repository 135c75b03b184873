// The cell's signing keys: created on first start, persisted in keysDir, rotated in three
// states. The JWKS always publishes previous, current and next, so a peer that cached it
// before a rotation already knows the key that signs after it.
//
// Replicas of one cell share their keys through a pre-provisioned, read-only keys dir (a
// Kubernetes Secret mounted at keysDir): when signing-keys.json exists and the directory is not
// writable, the store is read-only. It never writes or chmods there, accepts the Secret's file
// mode (group-readable only by one of the process's own groups, i.e. the pod's fsGroup; never
// by others, never group-writable), polls the file and reloads a changed set (rotation is then
// done by updating the Secret: `cellauth sts-keys --rotate`), and refuses /admin/rotate.
import { accessSync, constants, mkdirSync, readFileSync, writeFileSync, renameSync, existsSync, chmodSync, statSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { generateKeyPair, exportJWK, importJWK, calculateJwkThumbprint, type JWK, type CryptoKey } from "jose";
import type { SigningAlg } from "./config.ts";
import { logger } from "./log.ts";

type KeyState = "previous" | "current" | "next";

interface StoredKey {
  kid: string;
  alg: SigningAlg;
  state: KeyState;
  createdAt: string;
  privateJwk: JWK;
}

export interface SigningKey {
  kid: string;
  alg: SigningAlg;
  key: CryptoKey;
}

const FILE = "signing-keys.json";
const PUBLIC_MEMBERS = ["kty", "crv", "x", "y", "n", "e"] as const;

export function publicPart(jwk: JWK): JWK {
  const out: JWK = {};
  for (const m of PUBLIC_MEMBERS) if (jwk[m] !== undefined) (out as Record<string, unknown>)[m] = jwk[m];
  return out;
}

async function newKey(alg: SigningAlg, state: KeyState): Promise<StoredKey> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, modulusLength: 2048 });
  const privateJwk = await exportJWK(privateKey);
  // RFC 7638: the thumbprint covers only the required public members.
  const kid = await calculateJwkThumbprint(publicPart(privateJwk), "sha256");
  return { kid, alg, state, createdAt: new Date().toISOString(), privateJwk };
}

/** Throws when a private key file is readable (or writable) by group or others. */
export function assertPrivate(path: string, what: string): void {
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077) {
    throw new Error(`${what} ${path} has mode 0${mode.toString(8)}: readable by group or others; refusing it (chmod 600, and replace the keys if others could read them)`);
  }
}

/** Throws unless a pre-provisioned (read-only) keys file is private to this process's user and groups. */
export function assertProvisionedPrivate(path: string): void {
  const st = statSync(path);
  const mode = st.mode & 0o777;
  const groups = new Set([process.getgid?.(), ...(process.getgroups?.() ?? [])]);
  const why = mode & 0o007 ? "readable or writable by others"
    : mode & 0o020 ? "writable by group"
    : mode & 0o040 && !groups.has(st.gid) ? `readable by group ${st.gid}, which is not one of this process's groups`
    : "";
  if (why) throw new Error(`signing keys file ${path} has mode 0${mode.toString(8)}: ${why}; refusing it (a Secret volume wants defaultMode 0440 with the pod's fsGroup, or 0400; replace the keys if others could read them)`);
}

/** /admin/rotate on a read-only (provisioned) store. */
export class KeysReadOnlyError extends Error {}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

export class KeyStore {
  private keys: StoredKey[];
  /** Provisioned keys (a read-only Secret mount): never written; reloaded when the file changes. */
  readOnly = false;
  private text = "";
  private signer: SigningKey | undefined;
  /** Bumped on every rotation so caches of the public set know to rebuild. */
  version = 0;
  rotations = 0;

  private constructor(private readonly dir: string, keys: StoredKey[]) {
    this.keys = keys;
  }

  /**
   * Opens the key directory, creating it and a current + next key on first start. A key
   * directory open to group or others is narrowed to 0700 with a warning; a signing-keys file
   * readable by group or others is refused (its keys may have leaked: make new ones).
   */
  static async open(dir: string, alg: SigningAlg): Promise<KeyStore> {
    if (existsSync(join(dir, FILE)) && !writable(dir)) return KeyStore.openProvisioned(dir, alg);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const dirMode = statSync(dir).mode & 0o777;
    if (dirMode & 0o077) {
      chmodSync(dir, 0o700);
      logger.warn("key directory was open to group or others; mode set to 0700", { dir, was: dirMode.toString(8) });
    }
    const path = join(dir, FILE);
    if (existsSync(path)) assertPrivate(path, "signing keys file");
    if (!existsSync(path)) {
      const store = new KeyStore(dir, [await newKey(alg, "current"), await newKey(alg, "next")]);
      store.persist();
      logger.info("signing keys created", { alg, kid: store.current().kid });
      await store.loadSigner();
      return store;
    }
    const parsed = JSON.parse(readFileSync(path, "utf8")) as { keys: StoredKey[] };
    const store = new KeyStore(dir, parsed.keys);
    store.check(alg);
    await store.loadSigner();
    logger.info("signing keys loaded", { alg, kid: store.current().kid, count: parsed.keys.length });
    return store;
  }

  private static async openProvisioned(dir: string, alg: SigningAlg): Promise<KeyStore> {
    const path = join(dir, FILE);
    assertProvisionedPrivate(path);
    const text = readFileSync(path, "utf8");
    const store = new KeyStore(dir, KeyStore.parse(text));
    store.readOnly = true;
    store.text = text;
    store.check(alg);
    await store.loadSigner();
    logger.info("signing keys loaded (read-only, provisioned)", { alg, kid: store.current().kid, count: store.keys.length });
    return store;
  }

  private static parse(text: string): StoredKey[] {
    const parsed = JSON.parse(text) as { keys?: StoredKey[] };
    if (!Array.isArray(parsed.keys)) throw new Error(`${FILE} has no keys array`);
    return parsed.keys;
  }

  /**
   * Read-only stores: re-reads the keys file and, when it changed (the Secret was updated),
   * takes the new set. A file that does not load (bad JSON, wrong alg, wrong mode) is logged
   * and the old keys stay. Returns whether the keys changed.
   */
  async reloadIfChanged(): Promise<boolean> {
    if (!this.readOnly) return false;
    const path = join(this.dir, FILE);
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (e) {
      logger.error("signing keys reload failed; old keys kept", { reason: (e as Error).message });
      return false;
    }
    if (text === this.text) return false;
    const alg = this.current().alg;
    const old = this.keys;
    try {
      assertProvisionedPrivate(path);
      this.keys = KeyStore.parse(text);
      this.check(alg);
      await this.loadSigner();
    } catch (e) {
      this.keys = old;
      this.text = text; // log a bad file once, not on every poll
      logger.error("signing keys reload rejected; old keys kept", { reason: (e as Error).message });
      return false;
    }
    this.text = text;
    this.version++;
    logger.info("signing keys reloaded", { kid: this.current().kid, count: this.keys.length });
    return true;
  }

  /** The keys file's content: what `cellauth sts-keys` prints for a Secret. */
  serialized(): string {
    return JSON.stringify({ keys: this.keys }, null, 2);
  }

  private check(alg: SigningAlg): void {
    const count = (s: KeyState) => this.keys.filter((k) => k.state === s).length;
    if (count("current") !== 1 || count("next") !== 1 || count("previous") > 1) {
      throw new Error(`${FILE} must hold one current, one next and at most one previous key`);
    }
    if (this.current().alg !== alg) {
      throw new Error(`keysDir holds ${this.current().alg} keys but signingAlg is ${alg}; use a new keysDir`);
    }
  }

  private current(): StoredKey {
    return this.keys.find((k) => k.state === "current")!;
  }

  private async loadSigner(): Promise<void> {
    const cur = this.current();
    const key = (await importJWK(cur.privateJwk, cur.alg)) as CryptoKey;
    this.signer = { kid: cur.kid, alg: cur.alg, key };
  }

  private persist(): void {
    const path = join(this.dir, FILE);
    const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
    writeFileSync(tmp, this.serialized(), { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, path);
  }

  signingKey(): SigningKey {
    if (!this.signer) throw new Error("no signing key loaded");
    return this.signer;
  }

  /** Public keys only: previous (if any), current and next. */
  publicJwks(): { keys: JWK[] } {
    const order: KeyState[] = ["current", "next", "previous"];
    const keys = [...this.keys].sort((a, b) => order.indexOf(a.state) - order.indexOf(b.state));
    return { keys: keys.map((k) => ({ ...publicPart(k.privateJwk), kid: k.kid, alg: k.alg, use: "sig" })) };
  }

  /** previous <- current <- next <- fresh key; the old previous is dropped. */
  async rotate(): Promise<string> {
    if (this.readOnly) throw new KeysReadOnlyError("the signing keys are provisioned read-only (a Secret): rotate them by updating the Secret (cellauth sts-keys --rotate)");
    const alg = this.current().alg;
    const fresh = await newKey(alg, "next");
    const kept = this.keys.filter((k) => k.state !== "previous");
    for (const k of kept) k.state = k.state === "current" ? "previous" : "current";
    this.keys = [...kept, fresh];
    this.persist();
    await this.loadSigner();
    this.version++;
    this.rotations++;
    logger.info("signing key rotated", { kid: this.current().kid });
    return this.current().kid;
  }
}
