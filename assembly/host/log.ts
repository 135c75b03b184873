import { proxy_log, proxy_get_log_level } from "./sdk";

export const enum Level { Trace = 0, Debug = 1, Info = 2, Warn = 3, Error = 4, Critical = 5 }

let cachedLevel: i32 = -1;
const levelSlot = memory.data(8);

// Envoy's current log level, read once per configure; callers check `enabled` before
// building a message so that a disabled level costs no allocation.
export function refreshLevel(): void {
  cachedLevel = proxy_get_log_level(levelSlot) == 0 ? load<i32>(levelSlot) : Level.Info;
}

export function enabled(level: Level): bool {
  if (cachedLevel < 0) refreshLevel();
  return <i32>level >= cachedLevel;
}

export function log(level: Level, message: string): void {
  if (!enabled(level)) return;
  const buf = String.UTF8.encode(message);
  proxy_log(<usize>level, changetype<usize>(buf), buf.byteLength);
}

export function info(message: string): void { log(Level.Info, message); }
export function warn(message: string): void { log(Level.Warn, message); }
export function error(message: string): void { log(Level.Error, message); }
export function debug(message: string): void { log(Level.Debug, message); }
