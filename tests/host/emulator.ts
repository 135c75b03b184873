// A proxy-wasm ABI v0.2.1 host that drives the real cellauth .wasm in Node, the way Envoy does:
// root context + vm_start + configure, then one stream context per request
// (request headers -> [pause until continue/local reply] -> response headers -> done/log/delete),
// http calls answered by the test, a controllable clock, shared data with CAS, metrics,
// and Envoy's `verify_signature` foreign function backed by node:crypto.
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { WasmResult as R, FilterHeadersStatus, LOG_LEVEL_NAMES } from './abi.ts';
import { GuestMemory } from './memory.ts';
import { HeaderMap } from './headers.ts';
import { SharedStore, type Metric } from './shared-store.ts';
import { envImports, wasiImports } from './imports.ts';
import type { Pair } from './pairs.ts';
import type {
  CallHandler, CallOutcome, HttpCall, HttpCallAnswer, LogEntry, RequestOptions, RequestResult, RequestSpec, UpstreamAnswer,
} from './types.ts';

export * from './types.ts';
export { SharedStore } from './shared-store.ts';

export interface HostOptions {
  /** Initial emulated wall clock in ms since the epoch. Default Date.now() at load. */
  clockMs?: number;
  /** false: proxy_call_foreign_function answers NotFound like a host without verify_signature. */
  foreignFunctions?: boolean;
  /** Share one store between two hosts to model two Envoy worker threads. */
  sharedStore?: SharedStore;
  rootId?: string;
  vmId?: string;
  /** Envoy's log level for the wasm component: 0 trace .. 5 critical. Default 2 (info). */
  logLevel?: number;
  /** When set, proxy_http_call to any other cluster fails with BadArgument (unknown cluster). */
  clusters?: string[];
  /** Answers every http call (a request's own onHttpCall wins for calls made in its stream). */
  onHttpCall?: CallHandler;
  /** Extra properties by dotted path, e.g. {'node.metadata.CELL': 'a'}. */
  properties?: Record<string, string | Uint8Array>;
  /** Echo the module's logs to stderr (also enabled by CELLAUTH_EMU_LOG=1). */
  echoLogs?: boolean;
}

export interface Ctx {
  id: number;
  root: Ctx;
  stream?: Stream;
  tickPeriodMs?: number;
  properties: Map<string, Uint8Array>;
}

interface LocalReply { status: number; body: Uint8Array; headers: Pair[]; details: string }

class Stream {
  request: HeaderMap;
  response: HeaderMap | null = null;
  body?: Uint8Array;
  phase: 'headers' | 'paused' | 'finishing' | 'done' = 'headers';
  local?: LocalReply;
  continueRequested = false;
  headersAction?: number;
  logs: LogEntry[] = [];
  calls: HttpCall[] = [];
  result?: RequestResult;
  resolve!: (r: RequestResult) => void;
  readonly done: Promise<RequestResult>;
  constructor(readonly ctx: Ctx, request: HeaderMap, readonly opts: RequestOptions) {
    this.request = request;
    this.done = new Promise((res) => { this.resolve = res; });
  }
}

export class Trap extends Error {}

const moduleCache = new Map<string, WebAssembly.Module>();
const METRIC_ID_STEP = 4;

export class ProxyWasmHost {
  // Read by imports.ts.
  mem!: GuestMemory;
  readonly shared: SharedStore;
  readonly vmId: string;
  readonly rootId: string;
  logLevel: number;
  foreignFunctions: boolean;
  configuring = false;
  vmConfiguration = new Uint8Array(0);
  pluginConfiguration = new Uint8Array(0);
  readonly metricById = new Map<number, Metric>();
  doneCalls = 0;
  /** Set only while proxy_on_http_call_response runs (null for a failed call). */
  callResponse: { headers: HeaderMap; body: Uint8Array; trailers: HeaderMap } | null = null;

  /** Every log line the module wrote (proxy_log and WASI). */
  readonly logs: LogEntry[] = [];
  /** Every http call ever made; pendingCalls are the unanswered ones. */
  readonly calls: HttpCall[] = [];
  readonly pendingCalls: HttpCall[] = [];
  /** Names of foreign functions the module asked for, in order. */
  readonly foreignCalls: string[] = [];
  /** Imports the module declared that this host does not implement (they answer Unimplemented). */
  readonly unimplemented: string[] = [];
  readonly unimplementedCalls: string[] = [];
  /** Wasm traps (and proc_exit) caught at the host boundary. Once one happens the VM is dead. */
  readonly traps: string[] = [];

  private exports!: Record<string, any>;
  private nanos: bigint;
  private lastTickMs: number;
  private contexts = new Map<number, Ctx>();
  private root!: Ctx;
  private nextContextId = 1;
  private nextToken = 1;
  private nextMetric = { 0: 0, 1: 1, 2: 2 } as Record<number, number>;
  private current = 0;
  private effective = 0;
  private depth = 0;
  private afterCall: Array<() => void> = [];
  private rootCreated = false;

  private constructor(private readonly opts: HostOptions) {
    this.shared = opts.sharedStore ?? new SharedStore();
    this.rootId = opts.rootId ?? 'cellauth';
    this.vmId = opts.vmId ?? 'cellauth';
    this.logLevel = opts.logLevel ?? 2;
    this.foreignFunctions = opts.foreignFunctions !== false;
    const ms = opts.clockMs ?? Date.now();
    this.nanos = BigInt(Math.round(ms)) * 1_000_000n;
    this.lastTickMs = ms;
  }

  static async load(path: string, opts: HostOptions = {}): Promise<ProxyWasmHost> {
    let mod = moduleCache.get(path);
    if (!mod) {
      mod = await WebAssembly.compile(readFileSync(path));
      moduleCache.set(path, mod);
    }
    const host = new ProxyWasmHost(opts);
    await host.instantiate(mod);
    return host;
  }

  private async instantiate(mod: WebAssembly.Module): Promise<void> {
    const env = envImports(this);
    const wasi = wasiImports(this);
    const imports: Record<string, Record<string, any>> = {};
    for (const imp of WebAssembly.Module.imports(mod)) {
      if (imp.kind !== 'function') continue;
      const table = imp.module === 'env' ? env : imp.module === 'wasi_snapshot_preview1' ? wasi : undefined;
      let fn: any = table?.[imp.name];
      if (!fn) {
        this.unimplemented.push(`${imp.module}.${imp.name}`);
        const name = imp.name;
        fn = () => { this.unimplementedCalls.push(name); return imp.module === 'env' ? R.Unimplemented : 52 /* ENOSYS */; };
      }
      (imports[imp.module] ??= {})[imp.name] = fn;
    }
    const instance = await WebAssembly.instantiate(mod, imports);
    this.exports = instance.exports as Record<string, any>;
    this.mem = new GuestMemory(this.exports.memory as WebAssembly.Memory, (n) => this.exports.malloc(n));
    this.root = { id: 0, root: undefined as unknown as Ctx, properties: new Map() };
    this.root.root = this.root;
    if (typeof this.exports._start === 'function') this.invoke(0, '_start');
    if (this.traps.length) throw new Trap(`_start trapped: ${this.traps[0]}`);
  }

  // ---- lifecycle ----

  /** Creates the root context on first use, starts the VM, then configures the plugin. */
  configure(pluginConfig: string | object, vmConfig: string = ''): boolean {
    if (this.traps.length) return false;
    if (!this.rootCreated) {
      this.root.id = this.nextContextId++;
      this.contexts.set(this.root.id, this.root);
      this.rootCreated = true;
      this.vmConfiguration = new TextEncoder().encode(vmConfig);
      this.invoke(this.root.id, 'proxy_on_context_create', this.root.id, 0);
      const started = this.invoke(this.root.id, 'proxy_on_vm_start', this.root.id, this.vmConfiguration.length);
      if (!started) return false;
    }
    this.pluginConfiguration = new TextEncoder().encode(typeof pluginConfig === 'string' ? pluginConfig : JSON.stringify(pluginConfig));
    this.configuring = true;
    try {
      return !!this.invoke(this.root.id, 'proxy_on_configure', this.root.id, this.pluginConfiguration.length);
    } finally {
      this.configuring = false;
    }
  }

  /** Envoy calls on_done on the root at shutdown; true when the module is done at once. */
  shutdown(): boolean {
    // As proxy-wasm-cpp-host: a module that does not export on_done is done at once.
    const r = typeof this.exports.proxy_on_done === 'function' ? this.invoke(this.root.id, 'proxy_on_done', this.root.id) : 1;
    this.invoke(this.root.id, 'proxy_on_delete', this.root.id);
    return !!r;
  }

  // ---- clock and timers ----

  nowNanos(): bigint { return this.nanos; }
  nowMs(): number { return Number(this.nanos / 1_000_000n); }
  setClock(ms: number): void { this.nanos = BigInt(Math.round(ms)) * 1_000_000n; }
  get tickPeriodMs(): number { return this.root.tickPeriodMs ?? 0; }

  /**
   * Moves the clock. Calls whose timeout passed get Envoy's 504 "upstream request timeout";
   * a due timer fires once (an Envoy timer that fires late does not catch up).
   */
  advance(ms: number): void {
    this.setClock(this.nowMs() + ms);
    const now = this.nowMs();
    for (const c of [...this.pendingCalls]) {
      if (c.timeoutMs > 0 && c.sentAtMs + c.timeoutMs <= now) this.deliver(c.token, 'timeout');
    }
    const p = this.tickPeriodMs;
    if (p > 0 && now - this.lastTickMs >= p) this.tick();
  }

  tick(): void {
    this.lastTickMs = this.nowMs();
    this.invoke(this.root.id, 'proxy_on_tick', this.root.id);
  }

  // ---- http calls ----

  respond(token: number, answer: HttpCallAnswer): void { this.deliver(token, answer); }
  /** A reset: Envoy's onHttpCallFailure delivers 0 headers and an empty body. */
  failCall(token: number): void { this.deliver(token, 'fail'); }
  timeoutCall(token: number): void { this.deliver(token, 'timeout'); }
  /** What Envoy's async client answers when the cluster has no reachable host. */
  unreachable(token: number): void {
    this.deliver(token, { status: 503, headers: { 'content-type': 'text/plain' }, body: 'upstream connect error or disconnect/reset before headers. reset reason: remote connection failure' });
  }

  // ---- requests ----

  /** Runs one request through the filter and resolves when its stream ends. */
  async request(spec: RequestSpec = {}, opts: RequestOptions = {}): Promise<RequestResult> {
    const s = this.startRequest(spec, opts);
    if (s.result) return s.result;
    const guardMs = opts.guardMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const guard = new Promise<never>((_, rej) => {
      timer = setTimeout(() => rej(new Error(`stream ${s.ctx.id} still paused after ${guardMs} ms (pending calls: ${this.pendingCalls.map((c) => c.cluster).join(',') || 'none'})`)), guardMs);
    });
    try { return await Promise.race([s.done, guard]); } finally { clearTimeout(timer); }
  }

  /** Starts a request; its `done` promise resolves when the stream ends. For tests that settle calls by hand. */
  startRequest(spec: RequestSpec = {}, opts: RequestOptions = {}): { ctx: Ctx; done: Promise<RequestResult>; result?: RequestResult } {
    const headers = HeaderMap.from([
      [':authority', spec.authority ?? 'example.com'], [':path', spec.path ?? '/'],
      [':method', spec.method ?? 'GET'], [':scheme', spec.scheme ?? 'http'],
    ]);
    for (const [k, v] of HeaderMap.from(spec.headers).pairs) {
      if (k.startsWith(':')) headers.replace(k, v); else headers.add(k, v);
    }
    // Envoy's connection manager sets x-request-id before any filter runs.
    if (headers.get('x-request-id') === undefined) headers.add('x-request-id', randomUUID());
    const ctx: Ctx = { id: this.nextContextId++, root: this.root, properties: new Map() };
    for (const [k, v] of Object.entries(spec.properties ?? {})) ctx.properties.set(k, new TextEncoder().encode(v));
    const s = new Stream(ctx, headers, opts);
    ctx.stream = s;
    if (spec.body !== undefined) s.body = typeof spec.body === 'string' ? new TextEncoder().encode(spec.body) : spec.body;
    if (this.traps.length || !this.rootCreated) {
      this.finish(s, this.traps.length ? 'trap' : 'local');
      return { ctx, done: s.done, result: s.result };
    }
    this.contexts.set(ctx.id, ctx);
    this.invoke(ctx.id, 'proxy_on_context_create', ctx.id, this.root.id);
    const endOfStream = s.body === undefined || s.body.length === 0 ? 1 : 0;
    const action = this.invoke(ctx.id, 'proxy_on_request_headers', ctx.id, headers.pairs.length, endOfStream);
    s.headersAction = action;
    if (s.phase === 'headers') {
      if (this.traps.length) this.finish(s, 'trap');
      else if (s.continueRequested) this.proceedUpstream(s);
      else if (action === FilterHeadersStatus.StopIteration || action === FilterHeadersStatus.StopAllIterationAndBuffer ||
        action === FilterHeadersStatus.StopAllIterationAndWatermark) {
        s.phase = 'paused';
      } else {
        this.proceedUpstream(s);
      }
    }
    return { ctx, done: s.done, result: s.result };
  }

  /** Streams currently paused by the filter. */
  get pausedStreams(): number[] {
    return [...this.contexts.values()].filter((c) => c.stream?.phase === 'paused').map((c) => c.id);
  }

  // ---- metrics, memory ----

  metric(name: string): number | undefined { return this.shared.metrics.get(name)?.value; }
  metricNames(): string[] { return [...this.shared.metrics.keys()]; }
  histogram(name: string): number[] | undefined { return this.shared.metrics.get(name)?.samples; }
  memoryBytes(): number { return this.mem.size; }
  logText(): string { return this.logs.map((l) => `[${l.levelName}] ${l.message}`).join('\n'); }

  // ---- used by imports.ts ----

  activeContext(): Ctx {
    if (this.effective !== 0) {
      const c = this.contexts.get(this.effective);
      if (c) return c;
    }
    return this.contexts.get(this.current) ?? this.root;
  }

  setEffectiveContext(id: number): boolean {
    if (!this.contexts.has(id)) return false;
    this.effective = id;
    return true;
  }

  log(level: number, message: string): void {
    const c = this.activeContext();
    const e: LogEntry = { level, levelName: LOG_LEVEL_NAMES[level] ?? String(level), message, contextId: c.id };
    this.logs.push(e);
    if (this.logs.length > 50_000) this.logs.splice(0, 10_000);
    c.stream?.logs.push(e);
    if (this.opts.echoLogs || process.env.CELLAUTH_EMU_LOG) process.stderr.write(`[wasm ${e.levelName}] ${message}\n`);
  }

  property(path: string[]): Uint8Array | undefined {
    const enc = new TextEncoder();
    const dotted = path.join('.');
    const c = this.activeContext();
    const own = c.properties.get(dotted);
    if (own) return own;
    const extra = this.opts.properties?.[dotted];
    if (extra !== undefined) return typeof extra === 'string' ? enc.encode(extra) : extra;
    if (path.length === 1) {
      if (path[0] === 'plugin_root_id' || path[0] === 'plugin_name') return enc.encode(this.rootId);
      if (path[0] === 'plugin_vm_id') return enc.encode(this.vmId);
    }
    const h = c.stream?.request;
    if (path[0] === 'request' && path.length === 2 && h) {
      const p = h.get(':path') ?? '';
      const v: Record<string, string | undefined> = {
        path: p, url_path: p.split('?')[0], host: h.get(':authority'), method: h.get(':method'),
        scheme: h.get(':scheme'), id: h.get('x-request-id'), protocol: 'HTTP/1.1',
      };
      if (v[path[1]] !== undefined) return enc.encode(v[path[1]]!);
    }
    return undefined;
  }

  defineMetric(type: number, name: string): number {
    const id = (this.nextMetric[type] += METRIC_ID_STEP);
    this.metricById.set(id, this.shared.metric(name, type));
    return id;
  }

  httpCall(cluster: string, headers: Pair[], body: Uint8Array, trailers: Pair[], timeoutMs: number): number | { error: number } {
    if (timeoutMs < 0) return { error: R.BadArgument };
    if (this.opts.clusters && !this.opts.clusters.includes(cluster)) return { error: R.BadArgument };
    const hm = new HeaderMap(headers.map(([k, v]) => [k.toLowerCase(), v]));
    // Envoy refuses a call without :path, :method and :authority.
    if (hm.get(':path') === undefined || hm.get(':method') === undefined || hm.get(':authority') === undefined) return { error: R.BadArgument };
    const token = this.nextToken++;
    const from = this.activeContext();
    const call: HttpCall = {
      token, cluster, headers: hm.pairs, header: (n) => hm.get(n), body: Buffer.from(body), trailers, timeoutMs,
      sentAtMs: this.nowMs(), contextId: from.id,
    };
    this.calls.push(call);
    this.pendingCalls.push(call);
    from.stream?.calls.push(call);
    const handler = from.stream?.opts.onHttpCall ?? this.opts.onHttpCall;
    if (handler) {
      // Envoy answers asynchronously, never inside the call that dispatched it.
      setImmediate(async () => {
        let outcome: CallOutcome;
        try { outcome = await handler(call); } catch { outcome = 'fail'; }
        if (outcome !== undefined && this.pendingCalls.includes(call)) this.deliver(token, outcome);
      });
    }
    return token;
  }

  sendLocalResponse(status: number, details: string, body: Uint8Array, headers: Pair[], _grpc: number): number {
    const s = this.activeContext().stream;
    if (!s) return R.Ok; // a root context has no stream to answer; Envoy ignores it
    if (s.local) return R.BadArgument; // Envoy: one local reply per stream
    s.local = { status, body, headers, details: details.replace(/\s/g, '_') };
    // Envoy sends the reply after the VM call returns.
    this.afterCall.push(() => { if (s.phase === 'headers' || s.phase === 'paused') this.sendLocal(s); });
    return R.Ok;
  }

  continueRequest(): void {
    const s = this.activeContext().stream;
    if (!s) return;
    s.continueRequested = true;
    this.afterCall.push(() => { if (s.phase === 'paused' && !s.local) this.proceedUpstream(s); });
  }

  // ---- internals ----

  private deliver(token: number, outcome: Exclude<CallOutcome, undefined>): void {
    const i = this.pendingCalls.findIndex((c) => c.token === token);
    if (i < 0) throw new Error(`no pending http call with token ${token}`);
    this.pendingCalls.splice(i, 1);
    if (this.traps.length) return;
    let answer: HttpCallAnswer | null = null;
    if (outcome === 'timeout') answer = { status: 504, headers: { 'content-type': 'text/plain' }, body: 'upstream request timeout' };
    else if (outcome !== 'fail') answer = outcome;
    if (answer) {
      const body = typeof answer.body === 'string' ? new TextEncoder().encode(answer.body) : answer.body ?? new Uint8Array(0);
      const headers = HeaderMap.from([[':status', String(answer.status)], ...HeaderMap.from(answer.headers).pairs]);
      if (body.length > 0 && headers.get('content-length') === undefined) headers.add('content-length', String(body.length));
      this.callResponse = { headers, body, trailers: HeaderMap.from(answer.trailers) };
    } else {
      this.callResponse = null;
    }
    const cr = this.callResponse;
    try {
      this.invoke(this.root.id, 'proxy_on_http_call_response', this.root.id, token,
        cr ? cr.headers.pairs.length : 0, cr ? cr.body.length : 0, cr ? cr.trailers.pairs.length : 0);
    } finally {
      this.callResponse = null;
    }
    if (this.traps.length) this.failAllStreams();
  }

  private proceedUpstream(s: Stream): void {
    s.phase = 'finishing';
    if (s.body !== undefined && s.body.length > 0) {
      this.invoke(s.ctx.id, 'proxy_on_request_body', s.ctx.id, s.body.length, 1);
      if (this.traps.length) return this.finish(s, 'trap');
      if (s.local) return this.sendLocal(s);
    }
    const up = s.opts.upstream;
    const answer: UpstreamAnswer = (typeof up === 'function' ? up(s.request.clone().pairs) : up) ?? {};
    const body = answer.body ?? '';
    s.response = HeaderMap.from([[':status', String(answer.status ?? 200)], ...HeaderMap.from(answer.headers).pairs]);
    if (body.length > 0 && s.response.get('content-length') === undefined) s.response.add('content-length', String(Buffer.byteLength(body)));
    this.invoke(s.ctx.id, 'proxy_on_response_headers', s.ctx.id, s.response.pairs.length, body.length === 0 ? 1 : 0);
    if (this.traps.length) return this.finish(s, 'trap');
    if (s.local) return this.finish(s, 'local');
    this.finish(s, 'continue', body);
  }

  // Envoy sends a local reply through the encoder filters, this one included.
  private sendLocal(s: Stream): void {
    s.phase = 'finishing';
    const l = s.local!;
    const h = HeaderMap.from([[':status', String(l.status)]]);
    for (const [k, v] of l.headers) h.add(k, v);
    h.add('content-length', String(l.body.length));
    if (l.body.length > 0 && h.get('content-type') === undefined) h.add('content-type', 'text/plain');
    s.response = h;
    this.invoke(s.ctx.id, 'proxy_on_response_headers', s.ctx.id, h.pairs.length, l.body.length === 0 ? 1 : 0);
    this.finish(s, this.traps.length ? 'trap' : 'local');
  }

  private finish(s: Stream, kind: RequestResult['kind'], upstreamBody = ''): void {
    if (s.phase === 'done') return;
    s.phase = 'done';
    const id = s.ctx.id;
    if (this.contexts.has(id) && !this.traps.length) {
      this.invoke(id, 'proxy_on_done', id);
      this.invoke(id, 'proxy_on_log', id);
      this.invoke(id, 'proxy_on_delete', id);
    }
    this.contexts.delete(id);
    if (this.traps.length) kind = 'trap';
    const response = s.response ?? new HeaderMap();
    const local = kind === 'local' && s.local;
    s.result = {
      kind,
      status: kind === 'trap' ? 503 : local ? s.local!.status : kind === 'local' ? 503 : Number(response.get(':status') ?? 200),
      body: local ? new TextDecoder().decode(s.local!.body) : kind === 'continue' ? upstreamBody : '',
      details: local ? s.local!.details : undefined,
      responseHeaders: response.record(),
      responseHeaderPairs: response.pairs,
      upstreamHeaders: kind === 'continue' ? s.request.record() : {},
      upstreamHeaderPairs: kind === 'continue' ? s.request.pairs : [],
      logs: s.logs,
      httpCalls: s.calls,
      headersAction: s.headersAction,
      trap: this.traps.length ? this.traps[this.traps.length - 1] : undefined,
      contextId: id,
    };
    s.resolve(s.result);
  }

  private failAllStreams(): void {
    for (const c of [...this.contexts.values()]) if (c.stream && c.stream.phase !== 'done') this.finish(c.stream, 'trap');
  }

  // Calls an export with `ctxId` as the current context. Traps are caught and recorded: the
  // VM is then dead, as Envoy treats it. Deferred actions run when the outermost call returns.
  invoke(ctxId: number, name: string, ...args: number[]): number {
    if (this.traps.length) return 0;
    const fn = this.exports[name];
    if (typeof fn !== 'function') return 0;
    const saved = [this.current, this.effective];
    this.current = ctxId;
    this.effective = 0;
    this.depth++;
    let r = 0;
    try {
      r = Number(fn(...args) ?? 0);
    } catch (e) {
      this.traps.push(`${name}: ${(e as Error)?.message ?? String(e)}`);
    } finally {
      this.depth--;
      [this.current, this.effective] = saved;
    }
    if (this.depth === 0) {
      if (this.traps.length) { this.afterCall = []; this.failAllStreams(); return r; }
      while (this.afterCall.length) this.afterCall.shift()!();
    }
    return r;
  }
}
