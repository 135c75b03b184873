// Loads build/crypto.wasm (assembly/crypto/exports.ts) into Node and wraps its pointer/length
// exports in byte-array functions. Builds the module first if it is missing.
import { readFileSync, existsSync, readdirSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const wasmPath = path.join(repoRoot, 'build/crypto.wasm');

export enum Hash { SHA256 = 0, SHA384 = 1, SHA512 = 2 }

export function hashOf(name: string): Hash {
  const n = name.toUpperCase().replace('-', '');
  if (n === 'SHA256') return Hash.SHA256;
  if (n === 'SHA384') return Hash.SHA384;
  if (n === 'SHA512') return Hash.SHA512;
  throw new Error(`unsupported hash ${name}`);
}

/** Builds build/crypto.wasm when it is missing or older than any assembly/crypto source. */
export function ensureBuilt(): void {
  const srcDir = path.join(repoRoot, 'assembly/crypto');
  const newest = Math.max(...readdirSync(srcDir).map((f) => statSync(path.join(srcDir, f)).mtimeMs));
  if (existsSync(wasmPath) && statSync(wasmPath).mtimeMs >= newest) return;
  execFileSync(path.join(repoRoot, 'node_modules/.bin/asc'), ['--config', 'asconfig.crypto.json', '--target', 'release'],
    { cwd: repoRoot, stdio: 'inherit' });
}

interface Exports {
  memory: WebAssembly.Memory;
  alloc(len: number): number;
  free(ptr: number): void;
  digest(alg: number, p: number, l: number, out: number): number;
  hmacSign(alg: number, k: number, kl: number, d: number, dl: number, out: number): number;
  hmacVerify(alg: number, k: number, kl: number, d: number, dl: number, t: number, tl: number): number;
  rsaKey(n: number, nl: number, e: number, el: number): number;
  rsaKeyBits(h: number): number;
  rsaKeyFree(h: number): void;
  rsaPkcs1Verify(h: number, alg: number, d: number, dl: number, s: number, sl: number): number;
  rsaPssVerify(h: number, alg: number, d: number, dl: number, s: number, sl: number, salt: number): number;
  ecKey(bits: number, x: number, xl: number, y: number, yl: number): number;
  ecKeyFree(h: number): void;
  ecdsaVerify(h: number, alg: number, d: number, dl: number, s: number, sl: number): number;
  edKey(a: number, al: number): number;
  edKeyFree(h: number): void;
  ed25519Verify(h: number, m: number, ml: number, s: number, sl: number): number;
}

export class CryptoWasm {
  readonly x: Exports;
  constructor(x: Exports) { this.x = x; }

  static load(): CryptoWasm {
    ensureBuilt();
    const mod = new WebAssembly.Module(readFileSync(wasmPath));
    const inst = new WebAssembly.Instance(mod, {
      env: { abort: () => { throw new Error('crypto.wasm abort'); } },
    });
    return new CryptoWasm(inst.exports as unknown as Exports);
  }

  get memoryBytes(): number { return this.x.memory.buffer.byteLength; }

  /** Copies each buffer into wasm memory, runs f with the pointers, frees them. */
  with<T>(bufs: Uint8Array[], f: (ptrs: number[]) => T): T {
    const ptrs = bufs.map((b) => {
      const p = this.x.alloc(b.length);
      new Uint8Array(this.x.memory.buffer, p, b.length).set(b);
      return p;
    });
    try { return f(ptrs); } finally { for (const p of ptrs) this.x.free(p); }
  }

  digest(alg: Hash, data: Uint8Array): Uint8Array {
    return this.with([data, new Uint8Array(64)], ([d, o]) => {
      const n = this.x.digest(alg, d, data.length, o);
      return new Uint8Array(this.x.memory.buffer, o, n).slice();
    });
  }
  hmacSign(alg: Hash, key: Uint8Array, data: Uint8Array): Uint8Array {
    return this.with([key, data, new Uint8Array(64)], ([k, d, o]) => {
      const n = this.x.hmacSign(alg, k, key.length, d, data.length, o);
      return new Uint8Array(this.x.memory.buffer, o, n).slice();
    });
  }
  hmacVerify(alg: Hash, key: Uint8Array, data: Uint8Array, tag: Uint8Array): boolean {
    return this.with([key, data, tag], ([k, d, t]) => this.x.hmacVerify(alg, k, key.length, d, data.length, t, tag.length) !== 0);
  }
  rsaKey(n: Uint8Array, e: Uint8Array): number {
    return this.with([n, e], ([np, ep]) => this.x.rsaKey(np, n.length, ep, e.length));
  }
  rsaPkcs1Verify(h: number, alg: Hash, data: Uint8Array, sig: Uint8Array): boolean {
    return this.with([data, sig], ([d, s]) => this.x.rsaPkcs1Verify(h, alg, d, data.length, s, sig.length) !== 0);
  }
  rsaPssVerify(h: number, alg: Hash, data: Uint8Array, sig: Uint8Array, saltLen: number): boolean {
    return this.with([data, sig], ([d, s]) => this.x.rsaPssVerify(h, alg, d, data.length, s, sig.length, saltLen) !== 0);
  }
  ecKey(bits: number, x: Uint8Array, y: Uint8Array): number {
    return this.with([x, y], ([xp, yp]) => this.x.ecKey(bits, xp, x.length, yp, y.length));
  }
  ecdsaVerify(h: number, alg: Hash, data: Uint8Array, sig: Uint8Array): boolean {
    return this.with([data, sig], ([d, s]) => this.x.ecdsaVerify(h, alg, d, data.length, s, sig.length) !== 0);
  }
  edKey(a: Uint8Array): number {
    return this.with([a], ([p]) => this.x.edKey(p, a.length));
  }
  ed25519Verify(h: number, msg: Uint8Array, sig: Uint8Array): boolean {
    return this.with([msg, sig], ([m, s]) => this.x.ed25519Verify(h, m, msg.length, s, sig.length) !== 0);
  }
}

export const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
export const b64u = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'base64url'));
