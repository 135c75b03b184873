// The `env.proxy_*` host functions, following proxy-wasm-cpp-host src/exports.cc and Envoy's
// Context: argument checks, return codes, and memory handed back through the module's malloc.
import { WasmResult as R, MapType, MAP_TYPE_MAX, BufferType, BUFFER_TYPE_MAX, MetricType, StreamType, LOG_LEVEL_NAMES } from './abi.ts';
import { decodePairs, encodePairs } from './pairs.ts';
import { HeaderMap } from './headers.ts';
import { verifySignatureForeign } from './verify-signature.ts';
import type { ProxyWasmHost } from './emulator.ts';

type Fn = (...args: any[]) => number;
const u32 = (v: number) => v >>> 0;
const enc = new TextEncoder();

export function envImports(h: ProxyWasmHost): Record<string, Fn> {
  const mem = () => h.mem;

  function headerMap(type: number): HeaderMap | null {
    const c = h.activeContext();
    switch (type) {
      case MapType.RequestHeaders: return c.stream?.request ?? null;
      case MapType.ResponseHeaders: return c.stream?.response ?? null;
      // Envoy 1.40 keeps the call response readable after set_effective_context (measured).
      case MapType.HttpCallResponseHeaders: return h.callResponse?.headers ?? null;
      case MapType.HttpCallResponseTrailers: return h.callResponse?.trailers ?? null;
      default: return null;
    }
  }

  // add and replace share their checks: map type, both strings readable, map present.
  function withPair(type: number, keyPtr: number, keySize: number, valuePtr: number, valueSize: number,
    f: (m: HeaderMap, key: string, value: string) => void): number {
    if (u32(type) > MAP_TYPE_MAX) return R.BadArgument;
    const key = mem().readString(keyPtr, keySize);
    const value = mem().readString(valuePtr, valueSize);
    if (key === null || value === null) return R.InvalidMemoryAccess;
    const m = headerMap(u32(type));
    if (m === null) return R.BadArgument;
    f(m, key, value);
    return R.Ok;
  }

  function buffer(type: number): Uint8Array | null {
    const c = h.activeContext();
    switch (type) {
      case BufferType.VmConfiguration: return h.vmConfiguration;
      // Envoy exposes the plugin configuration only while the plugin is being configured.
      case BufferType.PluginConfiguration: return h.configuring ? h.pluginConfiguration : null;
      case BufferType.HttpCallResponseBody: return h.callResponse?.body ?? null;
      case BufferType.HttpRequestBody: return c.stream?.body ?? null;
      default: return null;
    }
  }

  return {
    proxy_log(level: number, ptr: number, size: number): number {
      if (u32(level) > 5) return R.BadArgument;
      const msg = mem().readString(ptr, size);
      if (msg === null) return R.InvalidMemoryAccess;
      h.log(u32(level), msg);
      return R.Ok;
    },
    proxy_get_log_level(ptr: number): number {
      return mem().writeU32(ptr, h.logLevel) ? R.Ok : R.InvalidMemoryAccess;
    },
    proxy_get_current_time_nanoseconds(ptr: number): number {
      return mem().writeU64(ptr, h.nowNanos()) ? R.Ok : R.InvalidMemoryAccess;
    },
    proxy_set_tick_period_milliseconds(ms: number): number {
      h.activeContext().root.tickPeriodMs = u32(ms);
      return R.Ok;
    },
    proxy_get_property(pathPtr: number, pathSize: number, valuePtrPtr: number, valueSizePtr: number): number {
      const path = mem().read(pathPtr, pathSize);
      if (path === null) return R.InvalidMemoryAccess;
      const v = h.property(new TextDecoder().decode(path).split('\u0000'));
      if (v === undefined) return R.NotFound;
      return mem().copyOut(v, valuePtrPtr, valueSizePtr) ? R.Ok : R.InvalidMemoryAccess;
    },
    proxy_set_property(pathPtr: number, pathSize: number, valuePtr: number, valueSize: number): number {
      const path = mem().readString(pathPtr, pathSize);
      const value = mem().read(valuePtr, valueSize);
      if (path === null || value === null) return R.InvalidMemoryAccess;
      h.activeContext().properties.set(path.split('\u0000').join('.'), value);
      return R.Ok;
    },

    proxy_get_buffer_bytes(type: number, start: number, length: number, ptrPtr: number, sizePtr: number): number {
      if (u32(type) > BUFFER_TYPE_MAX) return R.BadArgument;
      const b = buffer(u32(type));
      if (b === null) return R.NotFound;
      start = u32(start); length = u32(length);
      if (start > b.length) return R.BadArgument;
      if (start + length > b.length) length = b.length - start;
      if (length > 0) return mem().copyOut(b.subarray(start, start + length), ptrPtr, sizePtr) ? R.Ok : R.InvalidMemoryAccess;
      return R.Ok;
    },
    proxy_get_buffer_status(type: number, lengthPtr: number, flagsPtr: number): number {
      if (u32(type) > BUFFER_TYPE_MAX) return R.BadArgument;
      const b = buffer(u32(type));
      if (b === null) return R.NotFound;
      return mem().writeU32(lengthPtr, b.length) && mem().writeU32(flagsPtr, 0) ? R.Ok : R.InvalidMemoryAccess;
    },

    proxy_get_header_map_value(type: number, keyPtr: number, keySize: number, valuePtrPtr: number, valueSizePtr: number): number {
      if (u32(type) > MAP_TYPE_MAX) return R.BadArgument;
      const key = mem().readString(keyPtr, keySize);
      if (key === null) return R.InvalidMemoryAccess;
      const m = headerMap(u32(type));
      if (m === null) return R.BadArgument;
      const v = m.get(key);
      if (v === undefined) return R.NotFound;
      return mem().copyOut(enc.encode(v), valuePtrPtr, valueSizePtr) ? R.Ok : R.InvalidMemoryAccess;
    },
    proxy_get_header_map_pairs(type: number, ptrPtr: number, sizePtr: number): number {
      if (u32(type) > MAP_TYPE_MAX) return R.BadArgument;
      const m = headerMap(u32(type));
      // Envoy 1.40 answers Ok with no pairs for a map that is not available yet (measured);
      // get/add/replace/remove/size answer BadArgument.
      const bytes = m === null || m.pairs.length === 0 ? new Uint8Array(0) : encodePairs(m.pairs);
      return mem().copyOut(bytes, ptrPtr, sizePtr) ? R.Ok : R.InvalidMemoryAccess;
    },
    proxy_set_header_map_pairs(type: number, ptr: number, size: number): number {
      if (u32(type) > MAP_TYPE_MAX) return R.BadArgument;
      const data = mem().read(ptr, size);
      if (data === null) return R.InvalidMemoryAccess;
      const m = headerMap(u32(type));
      if (m === null) return R.BadArgument;
      m.setAll(decodePairs(data));
      return R.Ok;
    },
    proxy_add_header_map_value(type: number, keyPtr: number, keySize: number, valuePtr: number, valueSize: number): number {
      return withPair(type, keyPtr, keySize, valuePtr, valueSize, (m, k, v) => m.add(k, v));
    },
    proxy_replace_header_map_value(type: number, keyPtr: number, keySize: number, valuePtr: number, valueSize: number): number {
      return withPair(type, keyPtr, keySize, valuePtr, valueSize, (m, k, v) => m.replace(k, v));
    },
    proxy_remove_header_map_value(type: number, keyPtr: number, keySize: number): number {
      if (u32(type) > MAP_TYPE_MAX) return R.BadArgument;
      const key = mem().readString(keyPtr, keySize);
      if (key === null) return R.InvalidMemoryAccess;
      const m = headerMap(u32(type));
      if (m === null) return R.BadArgument;
      m.remove(key);
      return R.Ok;
    },
    proxy_get_header_map_size(type: number, sizePtr: number): number {
      if (u32(type) > MAP_TYPE_MAX) return R.BadArgument;
      const m = headerMap(u32(type));
      if (m === null) return R.BadArgument;
      return mem().writeU32(sizePtr, m.byteSize()) ? R.Ok : R.InvalidMemoryAccess;
    },

    proxy_send_local_response(code: number, detailsPtr: number, detailsSize: number, bodyPtr: number, bodySize: number,
      headersPtr: number, headersSize: number, grpcStatus: number): number {
      const details = mem().readString(detailsPtr, detailsSize);
      const body = mem().read(bodyPtr, bodySize);
      const headers = mem().read(headersPtr, headersSize);
      if (details === null || body === null || headers === null) return R.InvalidMemoryAccess;
      return h.sendLocalResponse(u32(code), details, body, decodePairs(headers), grpcStatus | 0);
    },
    proxy_continue_stream(type: number): number {
      if (u32(type) > StreamType.Upstream) return R.BadArgument;
      if (u32(type) === StreamType.Request) h.continueRequest();
      return R.Ok;
    },
    proxy_set_effective_context(id: number): number {
      return h.setEffectiveContext(u32(id)) ? R.Ok : R.BadArgument;
    },
    proxy_done(): number { h.doneCalls++; return R.Ok; },

    proxy_http_call(uriPtr: number, uriSize: number, hPtr: number, hSize: number, bodyPtr: number, bodySize: number,
      tPtr: number, tSize: number, timeoutMs: number, tokenPtr: number): number {
      const cluster = mem().readString(uriPtr, uriSize);
      const body = mem().read(bodyPtr, bodySize);
      const headers = mem().read(hPtr, hSize);
      const trailers = mem().read(tPtr, tSize);
      if (cluster === null || body === null || headers === null || trailers === null) return R.InvalidMemoryAccess;
      if (!mem().writeU32(tokenPtr, 0)) return R.InvalidMemoryAccess;
      const r = h.httpCall(cluster, decodePairs(headers), body, decodePairs(trailers), timeoutMs | 0);
      if (typeof r !== 'number' || r === 0) return typeof r === 'object' ? r.error : R.InternalFailure;
      mem().writeU32(tokenPtr, r);
      return R.Ok;
    },

    proxy_get_shared_data(keyPtr: number, keySize: number, valuePtrPtr: number, valueSizePtr: number, casPtr: number): number {
      const key = mem().readString(keyPtr, keySize);
      if (key === null) return R.InvalidMemoryAccess;
      const e = h.shared.get(h.vmId, key);
      if (!e) return R.NotFound;
      if (!mem().copyOut(e.value, valuePtrPtr, valueSizePtr)) return R.InvalidMemoryAccess;
      return mem().writeU32(casPtr, e.cas) ? R.Ok : R.InvalidMemoryAccess;
    },
    proxy_set_shared_data(keyPtr: number, keySize: number, valuePtr: number, valueSize: number, cas: number): number {
      const key = mem().readString(keyPtr, keySize);
      const value = mem().read(valuePtr, valueSize);
      if (key === null || value === null) return R.InvalidMemoryAccess;
      return h.shared.set(h.vmId, key, value, u32(cas));
    },

    // Metric ids carry their type in the low two bits, as Envoy's do.
    proxy_define_metric(type: number, namePtr: number, nameSize: number, idPtr: number): number {
      if (u32(type) > MetricType.Histogram) return R.BadArgument;
      const name = mem().readString(namePtr, nameSize);
      if (name === null) return R.InvalidMemoryAccess;
      const id = h.defineMetric(u32(type), name);
      return mem().writeU32(idPtr, id) ? R.Ok : R.InvalidMemoryAccess;
    },
    proxy_increment_metric(id: number, offset: bigint): number {
      const m = h.metricById.get(u32(id));
      if (!m) return R.NotFound;
      const by = Number(offset);
      if (m.type === MetricType.Counter) {
        if (by <= 0) return R.BadArgument;
        m.value += by;
        return R.Ok;
      }
      if (m.type === MetricType.Gauge) { m.value += by; return R.Ok; }
      return R.BadArgument;
    },
    proxy_record_metric(id: number, value: bigint): number {
      const m = h.metricById.get(u32(id));
      if (!m) return R.NotFound;
      const v = Number(BigInt.asUintN(64, value));
      if (m.type === MetricType.Counter) m.value += v;
      else if (m.type === MetricType.Gauge) m.value = v;
      else { m.samples.push(v); if (m.samples.length > 10_000) m.samples.shift(); }
      return R.Ok;
    },
    proxy_get_metric(id: number, resultPtr: number): number {
      const m = h.metricById.get(u32(id));
      if (!m) return R.NotFound;
      if (m.type === MetricType.Histogram) return R.BadArgument;
      return mem().writeU64(resultPtr, BigInt(m.value)) ? R.Ok : R.InvalidMemoryAccess;
    },

    proxy_call_foreign_function(namePtr: number, nameSize: number, argsPtr: number, argsSize: number,
      resultsPtrPtr: number, resultsSizePtr: number): number {
      const name = mem().readString(namePtr, nameSize);
      const args = mem().read(argsPtr, argsSize);
      if (name === null || args === null) return R.InvalidMemoryAccess;
      h.foreignCalls.push(name);
      if (name !== 'verify_signature' || !h.foreignFunctions) return R.NotFound;
      const r = verifySignatureForeign(args);
      if (r.status !== R.Ok || !r.result) return r.status;
      // cpp-host allocates the result even when it is empty.
      const p = mem().alloc(r.result);
      if (resultsPtrPtr && !mem().writeU32(resultsPtrPtr, p)) return R.InvalidMemoryAccess;
      if (resultsSizePtr && !mem().writeU32(resultsSizePtr, r.result.length)) return R.InvalidMemoryAccess;
      return R.Ok;
    },
  };
}

export function wasiImports(h: ProxyWasmHost): Record<string, Fn> {
  return {
    // cpp-host writevImpl: stdout becomes an info log, stderr an error log; one trailing newline dropped.
    fd_write(fd: number, iovs: number, iovsLen: number, nwrittenPtr: number): number {
      if (fd !== 1 && fd !== 2) return 8; // EBADF
      let s = '';
      let n = 0;
      for (let i = 0; i < u32(iovsLen); i++) {
        const base = h.mem.readU32(iovs + i * 8);
        const len = h.mem.readU32(iovs + i * 8 + 4);
        if (base === null || len === null) return 21; // EFAULT
        const b = h.mem.read(base, len);
        if (b === null) return 21;
        s += new TextDecoder().decode(b);
        n += len;
      }
      if (s.endsWith('\n')) s = s.slice(0, -1);
      if (n > 0) h.log(fd === 1 ? 2 : 4, s);
      return h.mem.writeU32(nwrittenPtr, n) ? 0 : 21;
    },
    proc_exit(code: number): number {
      throw new ProcExit(code);
    },
  };
}

export class ProcExit extends Error {
  constructor(readonly code: number) { super(`wasi proc_exit(${code})`); }
}

export { LOG_LEVEL_NAMES };
