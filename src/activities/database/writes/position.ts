import type { TableWriteDelta, WriteComparison, WritePosition } from '../../contract';

/** "16/B374D848" -> a number that orders like the LSN. */
export function lsnValue(lsn: string): bigint | null {
  const m = /^([0-9A-F]+)\/([0-9A-F]+)$/i.exec(lsn);
  return m ? (BigInt(`0x${m[1]}`) << 32n) + BigInt(`0x${m[2]}`) : null;
}

/**
 * Compares two readings of the same branch's write counters (pure: the workflow gets it through
 * `recordWritePosition({ since })`, tests and clients can call it directly).
 *
 * What the counters can and cannot tell:
 * - They count rows written by transactions that rolled back too, so `rowsChanged` is an upper bound.
 * - A backend sends its counters to shared statistics at most about once a second and when it exits (PostgreSQL 15+).
 *   A write committed shortly before `after` by a session that is still open may not be counted yet. `exact` says
 *   that nothing can be pending: `after` was read with no other session open, or both readings were taken under a
 *   fence (`fenceWrites` ended the older sessions, waiting for them to exit; the newer ones start read-only).
 * - Counters that go backwards (statistics reset, a compute restarted after scale-to-zero) say nothing about what
 *   happened in between: such tables land in `uncertain` and count as writes, since "no writes" must be a proof.
 * - The LSN is a hint only: it moves for WAL that is not a user write, and in the emulator it is cluster-wide.
 */
export function compareWritePositions(before: WritePosition, after: WritePosition): WriteComparison {
  const rowsChangedByTable: Record<string, TableWriteDelta> = {};
  const uncertain: string[] = [];
  const tablesAdded: string[] = [];
  let rowsChanged = 0;
  const sameBranch = before.branchId === after.branchId;
  if (!sameBranch) uncertain.push(`positions of different branches (${before.branchId}, ${after.branchId})`);
  for (const [name, a] of Object.entries(after.tables)) {
    const b = before.tables[name];
    if (!b) {
      tablesAdded.push(name);
      if (a.inserts + a.updates + a.deletes > 0) {
        rowsChangedByTable[name] = { inserts: a.inserts, updates: a.updates, deletes: a.deletes };
        rowsChanged += a.inserts + a.updates + a.deletes;
      }
      continue;
    }
    const d = { inserts: a.inserts - b.inserts, updates: a.updates - b.updates, deletes: a.deletes - b.deletes };
    if (d.inserts < 0 || d.updates < 0 || d.deletes < 0) {
      uncertain.push(`${name}: counters went backwards (statistics reset or compute restart)`);
      continue;
    }
    const n = d.inserts + d.updates + d.deletes;
    if (n > 0) {
      rowsChangedByTable[name] = d;
      rowsChanged += n;
    }
  }
  const tablesDropped = Object.keys(before.tables).filter((t) => !(t in after.tables));
  if (before.tablesTruncated || after.tablesTruncated) uncertain.push('more than 5000 tables: the rest were not read');
  const lb = lsnValue(before.lsn);
  const la = lsnValue(after.lsn);
  return {
    writesDetected: rowsChanged > 0 || tablesAdded.length > 0 || tablesDropped.length > 0 || uncertain.length > 0,
    rowsChangedByTable,
    rowsChanged,
    lsnAdvanced: sameBranch && lb !== null && la !== null ? la > lb : null,
    tablesAdded,
    tablesDropped,
    uncertain,
    // Under a fence at both readings, sessions start read-only and the older ones were ended (and flushed at exit).
    exact: after.otherSessions === 0 || (before.databaseReadOnly && after.databaseReadOnly),
    elapsedMs: Date.parse(after.at) - Date.parse(before.at),
  };
}
