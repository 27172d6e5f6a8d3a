/** The promotion timeline chart for the README: each contender's steps as bars on one time axis, API calls as ticks. */
import type { PromotionRun } from './runs';

const W = 960;
const LEFT = 150;
const ROW = 20;
const COLORS: Record<PromotionRun['who'], string> = { ours: '#2f7d5b', guide: '#8a8f98' };
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function timelineSvg(runs: PromotionRun[], title: string): string {
  const maxMs = Math.max(...runs.map((r) => r.wallMs));
  const tickMs = [250, 500, 1000, 2000, 5000].find((t) => maxMs / t <= 12) ?? 10_000;
  const x = (ms: number) => LEFT + (ms / maxMs) * (W - LEFT - 20);
  const out: string[] = [];
  let y = 46;
  for (const r of runs) {
    const label = r.who === 'ours' ? 'neon-promote' : "Neon's guide (script)";
    out.push(`<text x="10" y="${y + 13}" font-weight="bold">${esc(label)}: ${(r.wallMs / 1000).toFixed(2)} s</text>`);
    y += ROW;
    for (const s of r.steps) {
      const w = Math.max(1, x(s.end) - x(s.start));
      out.push(`<text x="${LEFT - 6}" y="${y + 13}" text-anchor="end">${esc(s.name)}</text>`);
      out.push(
        `<rect x="${x(s.start).toFixed(1)}" y="${y + 3}" width="${w.toFixed(1)}" height="${ROW - 6}" fill="${COLORS[r.who]}" rx="2"><title>${esc(s.name)}: ${s.end - s.start} ms</title></rect>`,
      );
      y += ROW;
    }
    out.push(`<text x="${LEFT - 6}" y="${y + 11}" text-anchor="end" fill="#555">API calls</text>`);
    for (const a of r.api)
      out.push(
        `<rect x="${x(a.start).toFixed(1)}" y="${y + 2}" width="1.5" height="10" fill="#1f4e8c"><title>${esc(a.route)}</title></rect>`,
      );
    y += ROW;
    out.push(`<text x="${LEFT - 6}" y="${y + 11}" text-anchor="end" fill="#555">prod gaps &gt; 50 ms</text>`);
    for (const g of r.probe.gaps)
      out.push(
        `<rect x="${x(g.at).toFixed(1)}" y="${y + 2}" width="${Math.max(2, x(g.at + g.ms) - x(g.at)).toFixed(1)}" height="10" fill="#c0392b"><title>${g.ms} ms without an answer</title></rect>`,
      );
    y += ROW + 14;
  }
  const axis: string[] = [];
  for (let t = 0; t <= maxMs; t += tickMs) {
    axis.push(`<line x1="${x(t).toFixed(1)}" y1="36" x2="${x(t).toFixed(1)}" y2="${y - 10}" stroke="#e3e3e3"/>`);
    axis.push(`<text x="${x(t).toFixed(1)}" y="32" text-anchor="middle" fill="#555">${t / 1000} s</text>`);
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="16" font-size="14" font-weight="bold">${esc(title)}</text>`,
    ...axis,
    ...out,
    '</svg>',
    '',
  ].join('\n');
}
