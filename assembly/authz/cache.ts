// Per-worker authorization decisions, keyed on everything the policy input depends on.
import { BoundedCache } from "./bounded";

export class Decision {
  constructor(public allow: bool, public status: string) {}
}

export class AuthzCache extends BoundedCache<Decision> {}
