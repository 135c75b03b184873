// Typed, path-aware access to a JSON config object. The first problem found is kept as
// "<field path>: <reason>" so that on_configure can log exactly what is wrong.
import { JsonValue, JsonKind } from "../util/json";

export class Reader {
  error: string = "";

  get ok(): bool { return this.error.length == 0; }

  fail(path: string, reason: string): void {
    if (this.error.length == 0) this.error = path + ": " + reason;
  }

  // True when `v` is an object whose keys are all in `allowed`.
  object(v: JsonValue | null, path: string, allowed: string[]): bool {
    if (v === null || v.kind != JsonKind.Object) { this.fail(path, "must be an object"); return false; }
    for (let i = 0; i < v.keys.length; i++) {
      if (!allowed.includes(v.keys[i])) { this.fail(path + "." + v.keys[i], "unknown field"); return false; }
    }
    return true;
  }

  str(o: JsonValue, key: string, path: string, def: string, required: bool = false, minLen: i32 = 0): string {
    const v = o.get(key);
    if (v === null) {
      if (required) this.fail(path + "." + key, "is required");
      return def;
    }
    if (v.kind != JsonKind.String) { this.fail(path + "." + key, "must be a string"); return def; }
    if (v.str.length < minLen) { this.fail(path + "." + key, "must not be empty"); return def; }
    return v.str;
  }

  bool(o: JsonValue, key: string, path: string, def: bool): bool {
    const v = o.get(key);
    if (v === null) return def;
    if (v.kind != JsonKind.Bool) { this.fail(path + "." + key, "must be true or false"); return def; }
    return v.b;
  }

  int(o: JsonValue, key: string, path: string, def: i64, min: i64, max: i64): i64 {
    const v = o.get(key);
    if (v === null) return def;
    if (v.kind != JsonKind.Number || !v.isInt) { this.fail(path + "." + key, "must be an integer"); return def; }
    if (v.int < min || v.int > max) {
      this.fail(path + "." + key, "must be between " + min.toString() + " and " + max.toString());
      return def;
    }
    return v.int;
  }

  oneOf(o: JsonValue, key: string, path: string, values: string[], def: i32): i32 {
    const v = o.get(key);
    if (v === null) return def;
    if (v.kind == JsonKind.String) {
      const i = values.indexOf(v.str);
      if (i >= 0) return i;
    }
    this.fail(path + "." + key, "must be one of " + values.join(", "));
    return def;
  }

  strings(o: JsonValue, key: string, path: string): string[] {
    const out = new Array<string>();
    const v = o.get(key);
    if (v === null) return out;
    if (v.kind != JsonKind.Array) { this.fail(path + "." + key, "must be a list of strings"); return out; }
    for (let i = 0; i < v.items.length; i++) {
      const it = v.items[i];
      if (it.kind != JsonKind.String || it.str.length == 0) {
        this.fail(path + "." + key + "[" + i.toString() + "]", "must be a non-empty string");
        return out;
      }
      out.push(it.str);
    }
    return out;
  }

  list(o: JsonValue, key: string, path: string): JsonValue[] {
    const v = o.get(key);
    if (v === null) return [];
    if (v.kind != JsonKind.Array) { this.fail(path + "." + key, "must be a list"); return []; }
    return v.items;
  }
}

// RFC 7230 token characters: what a header name may contain.
export function isHeaderName(s: string): bool {
  if (s.length == 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) ||
      c == 33 || (c >= 35 && c <= 39) || c == 42 || c == 43 || c == 45 || c == 46 || c == 94 || c == 95 || c == 96 || c == 124 || c == 126;
    if (!ok) return false;
  }
  return true;
}
