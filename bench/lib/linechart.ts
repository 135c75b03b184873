// A line chart for the scaling sweeps: one line per series over categorical x values, drawn as
// SVG and rasterised with rsvg-convert like the main chart (the SVG is kept when that fails).
import { esc, niceMax, openFrame, rasterise } from './svg.ts';

export interface Series { name: string; points: Array<{ x: string; y: number }> }

const PALETTE = ['#1e88e5', '#424242', '#fb8c00', '#43a047', '#8d6e63', '#e53935', '#7e57c2'];

export function lineChartSvg(series: Series[], xs: string[], title: string, xLabel: string, yLabel: string): string {
  const W = 900, H = 480, left = 80, right = 30, topPad = 50, bottom = 110;
  const plotW = W - left - right, plotH = H - topPad - bottom;
  const top = niceMax(Math.max(1e-9, ...series.flatMap((s) => s.points.map((p) => p.y))), 1e-9);
  const x = (i: number) => left + (xs.length <= 1 ? plotW / 2 : (i / (xs.length - 1)) * plotW);
  const y = (v: number) => topPad + plotH - (v / top) * plotH;
  const s: string[] = [];
  openFrame(s, { W, H, left, right, title, titleSize: 15, top, y, label: (v) => (v >= 10 ? String(Math.round(v)) : v.toFixed(2)) });
  xs.forEach((v, i) => s.push(`<text x="${x(i)}" y="${topPad + plotH + 18}" text-anchor="middle">${esc(v)}</text>`));
  s.push(`<text x="${left + plotW / 2}" y="${topPad + plotH + 38}" text-anchor="middle">${esc(xLabel)}</text>`);
  s.push(`<text transform="translate(18 ${topPad + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`);
  series.forEach((ser, si) => {
    const c = PALETTE[si % PALETTE.length];
    const pts = ser.points.map((p) => ({ i: xs.indexOf(p.x), y: p.y })).filter((p) => p.i >= 0).sort((a, b) => a.i - b.i);
    if (pts.length > 1) s.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.map((p) => `${x(p.i).toFixed(1)},${y(p.y).toFixed(1)}`).join(' ')}"/>`);
    for (const p of pts) s.push(`<circle cx="${x(p.i).toFixed(1)}" cy="${y(p.y).toFixed(1)}" r="4" fill="${c}"/>`);
    const lx = left + (si % 3) * 280, ly = topPad + plotH + 64 + Math.floor(si / 3) * 20;
    s.push(`<rect x="${lx}" y="${ly - 11}" width="14" height="14" fill="${c}"/><text x="${lx + 20}" y="${ly}">${esc(ser.name)}</text>`);
  });
  s.push('</svg>');
  return s.join('\n');
}

/** Writes the PNG (returns undefined) or, without rsvg-convert, the SVG next to it (returns why). */
export function writeLineChart(pngPath: string, ...args: Parameters<typeof lineChartSvg>): string | undefined {
  return rasterise(lineChartSvg(...args), pngPath);
}
