// Envoy memory as the admin API and the kernel see it. Envoy has no gauge for a wasm VM's linear
// memory: V8 maps it outside tcmalloc, so it shows in the process RSS, not in /memory. We report
// both, plus the wasm VM counts from /stats?filter=wasm.
import { readFileSync } from 'node:fs';

export interface MemorySample {
  /** Resident set of the Envoy process, KiB (includes V8's wasm linear memory). */
  rssKiB: number;
  /** tcmalloc bytes in use (/memory "allocated"). */
  allocated: number;
  /** tcmalloc heap (/memory "heap_size"). */
  heapSize: number;
  /** wasm.wasm_vm_count / runtime active VMs, from /stats?filter=wasm. */
  wasmVms: number;
}

function rssKiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch { return 0; }
}

export async function sampleMemory(adminUrl: string, pid: number): Promise<MemorySample> {
  const mem = await (await fetch(`${adminUrl}/memory`, { signal: AbortSignal.timeout(3000) })).json() as Record<string, string>;
  const stats = await (await fetch(`${adminUrl}/stats?filter=wasm`, { signal: AbortSignal.timeout(3000) })).text();
  const vm = /^wasm\.wasm_vm_count: (\d+)$/m.exec(stats);
  return { rssKiB: rssKiB(pid), allocated: Number(mem.allocated ?? 0), heapSize: Number(mem.heap_size ?? 0), wasmVms: vm ? Number(vm[1]) : 0 };
}

/** CPU time (user + system) a process has used so far, in µs, from /proc/<pid>/stat. */
export function cpuMicros(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15 (1-based).
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1e6) / CLK_TCK;
  } catch { return 0; }
}

// USER_HZ is 100 on every Linux architecture Envoy ships for.
const CLK_TCK = 100;
