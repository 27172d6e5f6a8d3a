import type { StepReport } from './runner';
import { seconds, type Terminal } from '../../src/cli/terminal';

/** The closing table: one line per step, green or red, the way the demo test reads it too. */
export function printSummary(term: Terminal, reports: StepReport[]): void {
  const rows = reports.map((r) => [r.ok ? 'ok' : 'FAILED', r.name, r.outcome, seconds(r.durationMs), r.note]);
  const widths = [6, 18, 12, 8];
  term.line(`\n${term.bold('Summary')}`);
  term.line(term.dim(`  ${['', 'step', 'outcome', 'time'].map((h, i) => h.padEnd(widths[i]!)).join(' ')} detail`));
  for (const [i, row] of rows.entries()) {
    const cells = row.slice(0, 4).map((c, j) => (j === 3 ? c.padStart(widths[j]!) : c.padEnd(widths[j]!)));
    const text = `  ${cells.join(' ')} ${row[4]!.slice(0, 90)}`;
    term.line(reports[i]!.ok ? term.green(text) : term.red(text));
  }
}

/** Sums a Prometheus counter by one label across all its series (every task queue, namespace and workflow type). */
export function counterBy(text: string, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const key = new RegExp(`${label}="([^"]*)"`).exec(line)?.[1] ?? '';
    out[key] = (out[key] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return out;
}

export async function scrape(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.text();
}
