// The two contracts the rendered config must meet: the filter's pluginConfig schema (draft
// 2020-12) and the STS config schema (draft-07). Rendering refuses output that fails either.
import { readFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Ajv } from "ajv";
import Ajv2020Module from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";

// Both packages are CommonJS with a default export; under ESM the class sits on .default.
const Ajv2020 = ((Ajv2020Module as unknown as { default?: unknown }).default ?? Ajv2020Module) as typeof import("ajv/dist/2020.js").default;
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as typeof import("ajv-formats").default;

const schemaPath = (name: string) => fileURLToPath(new URL(`../config/${name}`, import.meta.url));

export type Check = (value: unknown) => string[];

function compile(ajv: Ajv, file: string): Check {
  const validate = ajv.compile(JSON.parse(readFileSync(schemaPath(file), "utf8")));
  return (value) => (validate(structuredClone(value)) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`));
}

let filterCheck: Check | undefined;
/** Errors of a pluginConfig against config/cellauth.schema.json (empty = valid). */
export function checkPluginConfig(value: unknown): string[] {
  if (!filterCheck) {
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    addFormats(ajv);
    filterCheck = compile(ajv as unknown as Ajv, "cellauth.schema.json");
  }
  return filterCheck(value);
}

let stsCheck: Check | null | undefined;
/** Errors of an STS config against config/sts.schema.json; null when that schema is absent. */
export function checkStsConfig(value: unknown): string[] | null {
  if (stsCheck === undefined) {
    if (!existsSync(schemaPath("sts.schema.json"))) stsCheck = null;
    else {
      const ajv = new Ajv({ allErrors: true, strict: false });
      addFormats(ajv);
      stsCheck = compile(ajv, "sts.schema.json");
    }
  }
  return stsCheck ? stsCheck(value) : null;
}
