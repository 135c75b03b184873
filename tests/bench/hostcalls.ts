// Counts the proxy-wasm host calls cellauth makes on one request, by name, on the host emulator
// (the real build/cellauth.wasm): the cache-hit path's budget (issue 12) is measured here.
import { ProxyWasmHost, type HostOptions } from '../host/emulator.ts';
import { ensureFilterBuilt } from '../lib/build-filter.ts';

export interface Counted { host: ProxyWasmHost; counts: Map<string, number>; reset(): void }

/**
 * `after`, when given, sees every host call's arguments and result after it ran, with the guest's
 * memory (e.g. to corrupt what the host returned, as a broken host would).
 */
export type AfterCall = (name: string, args: number[], memory: WebAssembly.Memory) => void;

export async function countingHost(config: object, wasm = ensureFilterBuilt(), after?: AfterCall, opts: HostOptions = {}): Promise<Counted> {
  const counts = new Map<string, number>();
  const orig = WebAssembly.instantiate;
  let memory: WebAssembly.Memory | undefined;
  // Wrap every env import of the next instantiation with a counter.
  (WebAssembly as { instantiate: unknown }).instantiate = async (mod: WebAssembly.Module, imports: Record<string, Record<string, (...a: unknown[]) => unknown>>) => {
    for (const [name, fn] of Object.entries(imports.env ?? {})) {
      imports.env[name] = (...a: unknown[]) => {
        counts.set(name, (counts.get(name) ?? 0) + 1);
        const r = fn(...a);
        if (after && memory) after(name, a as number[], memory);
        return r;
      };
    }
    const made = await orig(mod, imports) as unknown as WebAssembly.Instance | WebAssembly.WebAssemblyInstantiatedSource;
    memory = ('instance' in made ? made.instance : made).exports.memory as WebAssembly.Memory;
    return made;
  };
  let host: ProxyWasmHost;
  try {
    host = await ProxyWasmHost.load(wasm, opts);
  } finally {
    (WebAssembly as { instantiate: unknown }).instantiate = orig;
  }
  if (!host.configure(config)) throw new Error('configure refused: ' + host.logs.map((l) => l.message).join(' | '));
  return { host, counts, reset: () => counts.clear() };
}
