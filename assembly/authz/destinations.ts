// Which outbound hosts are cell services. Only an exact name of a configured destination cell's
// service gets a cell token: `<cell>--<service>`, optionally followed by `.<namespace>`,
// `.<namespace>.svc` or `.<namespace>.svc.cluster.local`, and an optional port. Anything else
// (`x--y.attacker.example`, punycode `xn--...`, an IP) is external: a cell token sent there leaks.
import { Destination } from "../config/types";

// The destination cell `host` names, or null.
export function destinationCell(host: string, dests: Destination[]): string | null {
  const name = hostName(host);
  if (name === null) return null;
  for (let i = 0; i < dests.length; i++) {
    const d = unchecked(dests[i]);
    const prefix = d.cell + "--";
    if (!name.startsWith(prefix)) continue;
    const dot = name.indexOf(".", prefix.length);
    const service = dot < 0 ? name.substring(prefix.length) : name.substring(prefix.length, dot);
    const suffix = dot < 0 ? "" : name.substring(dot + 1);
    if (!isLabel(service)) continue;
    if (d.services.length > 0 && !d.services.includes(service)) continue;
    if (suffix.length == 0 || suffix == d.namespace || suffix == d.namespace + ".svc" || suffix == d.namespace + ".svc.cluster.local") {
      return d.cell;
    }
  }
  return null;
}

// The host name of an :authority, lower-cased, without its port; null for an IPv6 literal or a
// port that is not a number.
function hostName(authority: string): string | null {
  if (authority.startsWith("[")) return null;
  let end = authority.length;
  const colon = authority.lastIndexOf(":");
  if (colon >= 0) {
    if (colon == authority.length - 1) return null;
    for (let i = colon + 1; i < authority.length; i++) {
      const c = authority.charCodeAt(i);
      if (c < 48 || c > 57) return null;
    }
    end = colon;
  }
  return authority.substring(0, end).toLowerCase();
}

function isLabel(s: string): bool {
  if (s.length == 0 || s.length > 63) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (c == 45 && i > 0 && i < s.length - 1))) return false;
  }
  return true;
}
