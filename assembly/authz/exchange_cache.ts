// Per-worker cell tokens from the STS, keyed on destination cell and subject token, kept until
// shortly before they expire.
import { BoundedCache } from "./bounded";

export class ExchangeCache extends BoundedCache<string> {}
