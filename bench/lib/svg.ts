// What the bar chart (chart.ts) and the line charts (linechart.ts) share: escaping, a round axis
// maximum, the frame (background, title, five horizontal grid lines with their values), and the
// rasterising with rsvg-convert (Debian librsvg2-bin; the SVG is kept when that fails).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

export const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The smallest 1, 2, 2.5 or 5 × 10^n at or above v (v at least `floor`). */
export function niceMax(v: number, floor: number): number {
  const p = 10 ** Math.floor(Math.log10(Math.max(v, floor)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

export interface Frame { W: number; H: number; left: number; right: number; title: string; titleSize: number; top: number; y: (v: number) => number; label: (v: number) => string }

/** Opens the SVG in `s`: white background, the title, and the y grid from 0 to `top`. */
export function openFrame(s: string[], f: Frame): void {
  s.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${f.W}" height="${f.H}" font-family="DejaVu Sans, sans-serif" font-size="12">`);
  s.push(`<rect width="${f.W}" height="${f.H}" fill="white"/>`);
  s.push(`<text x="${f.W / 2}" y="28" text-anchor="middle" font-size="${f.titleSize}">${esc(f.title)}</text>`);
  for (let i = 0; i <= 5; i++) {
    const v = (f.top * i) / 5;
    s.push(`<line x1="${f.left}" x2="${f.W - f.right}" y1="${f.y(v)}" y2="${f.y(v)}" stroke="#e0e0e0"/>`);
    s.push(`<text x="${f.left - 6}" y="${f.y(v) + 4}" text-anchor="end">${f.label(v)}</text>`);
  }
}

/** Writes the PNG (returns undefined) or, without rsvg-convert, the SVG next to it (returns why). */
export function rasterise(svg: string, pngPath: string): string | undefined {
  try {
    execFileSync('rsvg-convert', ['-f', 'png', '-o', pngPath], { input: svg, stdio: ['pipe', 'ignore', 'pipe'] });
    return undefined;
  } catch (e) {
    const svgPath = pngPath.replace(/\.png$/, '.svg');
    writeFileSync(svgPath, svg);
    return `rsvg-convert failed (${(e as Error).message.split('\n')[0]}); wrote ${svgPath} instead`;
  }
}
