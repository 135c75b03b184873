// A parsed YAML file that can say on which line a value (or its parent, when the value is
// missing) sits, so every error in a cell definition names the field AND the line.
import { isMap, isScalar, LineCounter, parseDocument, type Document } from "yaml";

export type Path = (string | number)[];

export class CellError extends Error {
  constructor(readonly file: string, readonly line: number, readonly field: string, readonly reason: string) {
    super(`${file}:${line}: ${field || "(document)"}: ${reason}`);
  }
}

/** "services[0].port" for ["services", 0, "port"]. */
export function fieldName(path: Path): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
}

export class YamlSource {
  private readonly doc: Document;
  private readonly lines = new LineCounter();
  readonly data: unknown;

  constructor(readonly file: string, text: string) {
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true });
    const err = this.doc.errors[0];
    if (err) throw new CellError(file, this.lines.linePos(err.pos[0]).line, "", `invalid YAML: ${err.message.split("\n")[0]}`);
    this.data = this.doc.toJS({ maxAliasCount: 0 });
  }

  /** Line of the value at `path`, or of the nearest ancestor that exists. */
  lineOf(path: Path): number {
    for (let n = path.length; n >= 0; n--) {
      const node = this.doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node?.range) return this.lines.linePos(node.range[0]).line;
    }
    return 1;
  }

  /** Line of the KEY `key` inside the map at `path` (for unknown-key errors). */
  keyLine(path: Path, key: string): number {
    const map = path.length ? this.doc.getIn(path, true) : this.doc.contents;
    if (isMap(map)) {
      for (const pair of map.items) {
        if (isScalar(pair.key) && pair.key.value === key && pair.key.range) return this.lines.linePos(pair.key.range[0]).line;
      }
    }
    return this.lineOf(path);
  }

  fail(path: Path, reason: string): never {
    throw new CellError(this.file, this.lineOf(path), fieldName(path), reason);
  }
}
