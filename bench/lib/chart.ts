// The chart: requests/s per workload, one bar per configuration, no-auth as a dashed ceiling.
// Drawn as SVG and rasterised with rsvg-convert (Debian librsvg2-bin), so no browser is needed.
import type { Row } from './matrix.ts';
import { esc, niceMax, openFrame, rasterise } from './svg.ts';

const COLORS: Record<string, string> = {
  jwt_authn: '#9e9e9e', jwt_authn_cache: '#424242', cellauth_host: '#1e88e5', cellauth_wasm: '#90caf9',
  cellauth_nocache: '#7e57c2', cellauth_authz: '#43a047', ext_authz: '#e53935',
  jwt_authn_rbac: '#fb8c00', opa_extauthz: '#8d6e63',
};

export function chartSvg(rows: Row[], title: string): string {
  const workloads = [...new Set(rows.filter((r) => r.config !== 'noauth').map((r) => r.workload))];
  const configs = Object.keys(COLORS).filter((c) => rows.some((r) => r.config === c));
  const labels = new Map(rows.map((r) => [r.config, r.label]));
  const noauth = rows.find((r) => r.config === 'noauth');
  const top = niceMax(Math.max(1, ...rows.map((r) => r.wrk.rps)), 1);
  const W = 1100, H = 560, left = 80, right = 20, topPad = 50, bottom = 150;
  const plotW = W - left - right, plotH = H - topPad - bottom;
  const y = (v: number) => topPad + plotH - (v / top) * plotH;
  const groupW = plotW / Math.max(1, workloads.length);
  const barW = (groupW * 0.8) / Math.max(1, configs.length);
  const s: string[] = [];
  openFrame(s, { W, H, left, right, title, titleSize: 16, top, y, label: (v) => String(Math.round(v)) });
  s.push(`<text transform="translate(18 ${topPad + plotH / 2}) rotate(-90)" text-anchor="middle">requests / s</text>`);
  workloads.forEach((w, gi) => {
    const gx = left + gi * groupW + groupW * 0.1;
    configs.forEach((c, ci) => {
      const r = rows.find((x) => x.config === c && x.workload === w);
      if (!r) return;
      const bx = gx + ci * barW;
      s.push(`<rect x="${bx.toFixed(1)}" y="${y(r.wrk.rps).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(topPad + plotH - y(r.wrk.rps)).toFixed(1)}" fill="${COLORS[c]}"/>`);
    });
    s.push(`<text x="${left + gi * groupW + groupW / 2}" y="${topPad + plotH + 18}" text-anchor="middle">${esc(w)}</text>`);
  });
  if (noauth) {
    s.push(`<line x1="${left}" x2="${W - right}" y1="${y(noauth.wrk.rps)}" y2="${y(noauth.wrk.rps)}" stroke="#000" stroke-dasharray="6 4"/>`);
    s.push(`<text x="${W - right - 4}" y="${y(noauth.wrk.rps) - 5}" text-anchor="end">no auth: ${noauth.wrk.rps.toFixed(0)} req/s</text>`);
  }
  configs.forEach((c, i) => {
    const lx = left + (i % 3) * 330, ly = topPad + plotH + 50 + Math.floor(i / 3) * 24;
    s.push(`<rect x="${lx}" y="${ly - 11}" width="14" height="14" fill="${COLORS[c]}"/><text x="${lx + 20}" y="${ly}">${esc(labels.get(c as Row['config']) ?? c)}</text>`);
  });
  s.push('</svg>');
  return s.join('\n');
}

/** Writes the PNG (and returns undefined) or, without rsvg-convert, the SVG next to it (returns why). */
export function writeChart(rows: Row[], title: string, pngPath: string): string | undefined {
  return rasterise(chartSvg(rows, title), pngPath);
}
