// Envoy's `verify_signature` foreign function (host BoringSSL), called through the raw import
// because the SDK's wrapper takes a string and would corrupt binary arguments.
import { proxy_call_foreign_function } from "./sdk";
import { retPtrSlot, retSizeSlot, takeReturned } from "./buffers";

export const enum HostVerify { Valid = 0, Invalid = 1, Unavailable = 2 }

const NAME = String.UTF8.encode("verify_signature");
let hostMissing = false;

function varint(out: Array<u8>, v: u32): void {
  while (v >= 0x80) { out.push(<u8>((v & 0x7F) | 0x80)); v >>= 7; }
  out.push(<u8>v);
}
function field(out: Array<u8>, num: u32, data: Uint8Array): void {
  varint(out, (num << 3) | 2);
  varint(out, <u32>data.length);
  for (let i = 0; i < data.length; i++) out.push(data[i]);
}

// VerifySignatureArguments{hash_function=1, public_key=2 (DER SPKI), signature=3, text=4}
export function hostVerify(hash: string, spkiDer: Uint8Array, signature: Uint8Array, text: Uint8Array): HostVerify {
  if (hostMissing) return HostVerify.Unavailable;
  const msg = new Array<u8>();
  field(msg, 1, Uint8Array.wrap(String.UTF8.encode(hash)));
  field(msg, 2, spkiDer);
  field(msg, 3, signature);
  field(msg, 4, text);
  const args = new Uint8Array(msg.length);
  for (let i = 0; i < msg.length; i++) args[i] = msg[i];
  store<usize>(retPtrSlot(), 0);
  store<usize>(retSizeSlot(), 0);
  const r = proxy_call_foreign_function(changetype<usize>(NAME), NAME.byteLength, args.dataStart, args.length, retPtrSlot(), retSizeSlot());
  if (r != 0) {
    // NOT_FOUND (1): this host has no such function; stop asking.
    if (r == 1) hostMissing = true;
    return HostVerify.Unavailable;
  }
  // VerifySignatureResult{result=1 (bool), error=2}: field 1 varint 1 means valid.
  const res = Uint8Array.wrap(takeReturned());
  let i = 0;
  while (i < res.length) {
    const tag = <u32>res[i++];
    if (tag == 0x08) return i < res.length && res[i] == 1 ? HostVerify.Valid : HostVerify.Invalid;
    if ((tag & 7) == 2) {
      let len: u32 = 0; let shift: u32 = 0;
      while (i < res.length) { const b = <u32>res[i++]; len |= (b & 0x7F) << shift; shift += 7; if ((b & 0x80) == 0 || shift > 28) break; }
      i += <i32>len;
    } else {
      return HostVerify.Invalid;
    }
  }
  return HostVerify.Invalid;
}

export function hostHasVerify(): bool { return !hostMissing; }
