import { p256Mul, p256Sqr, p256Add, p256Sub } from "./p256";
import { montMul8, modAdd8, modSub8 } from "./mont8";
export const BUF: usize = memory.data(256, 8);
// A at BUF, B at +32, M at +64, out1 +96, out2 +128
export function run(op: i32): i32 {
  let a = BUF, b = BUF + 32, m = BUF + 64, o1 = BUF + 96, o2 = BUF + 128;
  if (op == 0) { p256Mul(o1, a, b); montMul8(o2, a, b, m, 1); }
  else if (op == 1) { p256Sqr(o1, a); montMul8(o2, a, a, m, 1); }
  else if (op == 2) { p256Add(o1, a, b); modAdd8(o2, a, b, m); }
  else { p256Sub(o1, a, b); modSub8(o2, a, b, m); }
  return memory.compare(o1, o2, 32);
}
