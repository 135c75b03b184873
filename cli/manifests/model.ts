// Every rendered object goes through its kubernetes-models class and must pass validate();
// rendering fails (closed) rather than write an object the schema rejects.
export interface Rendered {
  /** File name without extension, e.g. "deployment-reviews--sts-service". */
  file: string;
  object: Record<string, unknown>;
}

interface Model { validate(): void; toJSON(): unknown }

export function checked(file: string, model: Model): Rendered {
  model.validate();
  return { file, object: JSON.parse(JSON.stringify(model.toJSON())) };
}
