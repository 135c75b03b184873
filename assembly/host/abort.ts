import { proxy_log } from "./sdk";

// Replaces AssemblyScript's abort so that a trap leaves a critical line in Envoy's log
// (through proxy_log, not WASI) before the VM stops. Nothing a request sends should get here.
export function cellauthAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  let text = "cellauth abort: " + (message !== null ? message : "");
  if (fileName !== null) text += " at " + fileName + ":" + line.toString() + ":" + column.toString();
  const buf = String.UTF8.encode(text);
  proxy_log(5, changetype<usize>(buf), buf.byteLength);
  unreachable();
}
