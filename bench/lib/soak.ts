// Memory soak (BENCH_SOAK=1): cellauth with host crypto, 100,000 distinct ES256 tokens cycled
// until 1,000,000 requests or a time bound. Envoy's memory is sampled after every wrk chunk; the
// verdict compares the sample after warm-up (one pass over the pool) with the last one.
import { CONFIGS } from './configs.ts';
import { sampleMemory, type MemorySample } from './memory.ts';
import { startSession, WRK_CPU } from './session.ts';
import type { Workload } from './workloads.ts';
import { runWrk } from './wrk.ts';

export interface SoakSample { requests: number; elapsedSeconds: number; memory: MemorySample }

export interface SoakResult {
  config: string;
  distinctTokens: number;
  requests: number;
  targetRequests: number;
  seconds: number;
  statusErrors: number;
  afterWarmup: SoakSample;
  end: SoakSample;
  samples: SoakSample[];
  rssGrowthKiB: number;
  flat: boolean;
  summary: string;
}

/** Growth we still call flat: V8 and tcmalloc move a few pages around even in steady state. */
const FLAT_KIB = 2048;

export async function runSoak(w: Workload, jwks: object, o: { targetRequests: number; maxSeconds: number; chunkSeconds: number; connections: number; pin: boolean },
  log: (m: string) => void): Promise<SoakResult> {
  const cfg = CONFIGS.find((c) => c.id === 'cellauth_host')!;
  const s = await startSession(cfg, jwks, o.pin);
  try {
    const samples: SoakSample[] = [];
    const t0 = Date.now();
    let requests = 0;
    let statusErrors = 0;
    let afterWarmup: SoakSample | undefined;
    while (requests < o.targetRequests && (Date.now() - t0) / 1000 < o.maxSeconds) {
      const res = await runWrk({ url: s.url('/'), seconds: o.chunkSeconds, connections: o.connections, tokenFile: w.tokenFile, startIndex: requests % w.tokens, cpu: o.pin ? WRK_CPU : undefined });
      requests += res.requests;
      statusErrors += res.status_errors;
      const sample = { requests, elapsedSeconds: Math.round((Date.now() - t0) / 1000), memory: await sampleMemory(s.envoy.adminUrl, s.envoy.pid) };
      samples.push(sample);
      if (!afterWarmup && requests >= w.tokens) afterWarmup = sample;
      log(`soak: ${requests} requests, ${sample.elapsedSeconds} s, Envoy RSS ${sample.memory.rssKiB} KiB, tcmalloc ${sample.memory.allocated} B`);
    }
    const end = samples[samples.length - 1];
    afterWarmup ??= samples[0];
    const growth = end.memory.rssKiB - afterWarmup.memory.rssKiB;
    const flat = growth <= FLAT_KIB;
    return {
      config: cfg.label, distinctTokens: w.tokens, requests, targetRequests: o.targetRequests, seconds: end.elapsedSeconds, statusErrors,
      afterWarmup, end, samples, rssGrowthKiB: growth, flat,
      summary: `RSS ${afterWarmup.memory.rssKiB} KiB after warm-up (${afterWarmup.requests} req) → ${end.memory.rssKiB} KiB at end (${requests} req, ${end.elapsedSeconds} s): ${growth >= 0 ? '+' : ''}${growth} KiB` +
        (requests < o.targetRequests ? `; stopped at the time bound before ${o.targetRequests} requests` : ''),
    };
  } finally {
    await s.stop();
  }
}
