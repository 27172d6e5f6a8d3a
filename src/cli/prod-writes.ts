import type { ReconcileTableResult } from '../activities/contract';
import type { ForkWritesHandling, ProdWritesSinceFork, WriteReport } from '../workflows/contract/definitions';
import type { Terminal } from './terminal';

/** "t" and "public.t" are one table: the count names tables schema-qualified, the caller's list may not. */
const sameTable = (a: string, b: string): boolean => {
  const plain = (table: string) => {
    const name = table.replace(/"/g, '').toLowerCase();
    return name.includes('.') ? name : `public.${name}`;
  };
  return plain(a) === plain(b);
};

function handlingText(term: Terminal, handling: ForkWritesHandling, carried?: ReconcileTableResult): string {
  if (handling === 'discard') return 'discarded';
  if (handling === 'unhandled') return term.red('STOPPED: not carried or discarded');
  if (!carried) return 'to carry';
  const conflicts = `${carried.conflicts} conflict${carried.conflicts === 1 ? '' : 's'}`;
  return `carried: ${carried.inserted} inserted, ${carried.updated} updated, ${carried.deleted} deleted, ${conflicts}`;
}

function header(report: ProdWritesSinceFork): string {
  const title = "prod's writes since the fork";
  if (!report.forkPoint) return `${title}: no fork point known`;
  const at = `${report.forkPoint.name}, ${report.forkPoint.createdAt}`;
  const rows = report.rowsChanged === 1 ? '1 row' : `${report.rowsChanged} rows`;
  const none = !report.tables.length && !report.tablesAdded.length && !report.tablesDropped.length;
  return `${title} (${at}): ${none ? 'none' : rows}`;
}

/**
 * A promotion's count of prod's writes since dev was forked, for the text output of `promote --wait` and `status`:
 * the fork point, each table with its counts and what the run does with them, and for a carried table what the merge
 * wrote. Nothing when the run has not counted (another workflow, the migrations strategy, or a stop before the count).
 */
export function sinceForkLines(term: Terminal, writes: WriteReport | null | undefined): string[] {
  if (!writes?.sinceFork) return [];
  const report = writes.sinceFork;
  const carried = writes.reconciled && !writes.reconciled.dryRun ? writes.reconciled.tables : [];
  const width = Math.max(
    0,
    ...[...report.tables, ...report.tablesAdded, ...report.tablesDropped].map((t) => t.table.length),
  );
  const line = (table: string, what: string, handling: string) => `  ${table.padEnd(width)}  ${what}  ${handling}`;
  return [
    header(report),
    ...report.tables.map((t) => {
      const counts = `${t.inserts} inserted, ${t.updates} updated, ${t.deletes} deleted${t.exact ? '' : ' (no key: rows compared whole)'}`;
      const merged = carried.find((c) => sameTable(c.table, t.table));
      return line(t.table, counts, handlingText(term, t.handling, merged));
    }),
    ...report.tablesAdded.map((t) => line(t.table, 'created on prod', handlingText(term, t.handling))),
    ...report.tablesDropped.map((t) => line(t.table, 'dropped on prod', handlingText(term, t.handling))),
    ...(report.note ? [term.dim(`  ${report.note}`)] : []),
  ];
}
