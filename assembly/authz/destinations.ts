// Which outbound hosts are cell services. Only an exact name of a configured destination cell's
// service gets a cell token: `<cell>--<service>`, optionally followed by `.<namespace>`,
// `.<namespace>.svc` or `.<namespace>.svc.cluster.local`, and an optional port. Anything else
// (`x--y.attacker.example`, punycode `xn--...`, an IP) is external: a cell token sent there leaks.
import { Destination } from "../config/types";

// A cell service an outbound host names.
export class CellService {
  constructor(public cell: string, public namespace: string, public service: string) {}
}

// The destination cell service `host` names, or null.
export function destinationService(host: string, dests: Destination[]): CellService | null {
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
      return new CellService(d.cell, d.namespace, service);
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

// The service an Istio upstream cluster name points at, when it is a service of `namespace`:
// "outbound|<port>|<subset>|<service>.<namespace>.svc.cluster.local" -> <service>.
export function clusterService(cluster: string, namespace: string): string | null {
  if (!cluster.startsWith("outbound|")) return null;
  const host = cluster.substring(cluster.lastIndexOf("|") + 1);
  const dot = host.indexOf(".");
  if (dot <= 0) return null;
  const service = host.substring(0, dot);
  if (!isLabel(service) || host.substring(dot + 1) != namespace + ".svc.cluster.local") return null;
  return service;
}
