// Envoy's `verify_signature` foreign function (host BoringSSL), called through the raw import
// because the SDK's wrapper takes a string and would corrupt binary arguments.
import { proxy_call_foreign_function } from "./sdk";
import { retPtrSlot, retSizeSlot, takeReturned } from "./buffers";

export const enum HostVerify { Valid = 0, Invalid = 1, Unavailable = 2 }

const NAME = String.UTF8.encode("verify_signature");
let hostMissing = false;

function varintLen(v: u32): i32 { let n = 1; while (v >= 0x80) { v >>= 7; n++; } return n; }
function fieldLen(len: i32): i32 { return 1 + varintLen(<u32>len) + len; }

// Writes one length-delimited protobuf field at `at`; returns the next offset.
function putField(base: usize, at: i32, num: u32, data: usize, len: i32): i32 {
  store<u8>(base + at++, <u8>((num << 3) | 2));
  let v = <u32>len;
  while (v >= 0x80) { store<u8>(base + at++, <u8>((v & 0x7F) | 0x80)); v >>= 7; }
  store<u8>(base + at++, <u8>v);
  memory.copy(base + at, data, len);
  return at + len;
}

// VerifySignatureArguments{hash_function=1, public_key=2 (DER SPKI), signature=3, text=4}
// `hash` is the UTF-8 name ("sha256"...), encoded once by the caller.
export function hostVerify(h: ArrayBuffer, spkiDer: Uint8Array, signature: Uint8Array, text: Uint8Array): HostVerify {
  if (hostMissing) return HostVerify.Unavailable;
  const size = fieldLen(h.byteLength) + fieldLen(spkiDer.length) + fieldLen(signature.length) + fieldLen(text.length);
  const args = new Uint8Array(size);
  const base = args.dataStart;
  let at = putField(base, 0, 1, changetype<usize>(h), h.byteLength);
  at = putField(base, at, 2, spkiDer.dataStart, spkiDer.length);
  at = putField(base, at, 3, signature.dataStart, signature.length);
  putField(base, at, 4, text.dataStart, text.length);
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
