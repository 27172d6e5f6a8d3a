import type { TableWriteDelta, WriteComparison, WritePosition } from '../../contract';

/** "16/B374D848" -> a number that orders like the LSN. */
export function lsnValue(lsn: string): bigint | null {
  const parts = /^([0-9A-F]+)\/([0-9A-F]+)$/i.exec(lsn);
  return parts ? (BigInt(`0x${parts[1]}`) << 32n) + BigInt(`0x${parts[2]}`) : null;
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
  for (const [name, now] of Object.entries(after.tables)) {
    const then = before.tables[name];
    if (!then) {
      tablesAdded.push(name);
      if (now.inserts + now.updates + now.deletes > 0) {
        rowsChangedByTable[name] = { inserts: now.inserts, updates: now.updates, deletes: now.deletes };
        rowsChanged += now.inserts + now.updates + now.deletes;
      }
      continue;
    }
    const delta = {
      inserts: now.inserts - then.inserts,
      updates: now.updates - then.updates,
      deletes: now.deletes - then.deletes,
    };
    if (delta.inserts < 0 || delta.updates < 0 || delta.deletes < 0) {
      uncertain.push(`${name}: counters went backwards (statistics reset or compute restart)`);
      continue;
    }
    const changed = delta.inserts + delta.updates + delta.deletes;
    if (changed > 0) {
      rowsChangedByTable[name] = delta;
      rowsChanged += changed;
    }
  }
  const tablesDropped = Object.keys(before.tables).filter((table) => !(table in after.tables));
  if (before.tablesTruncated || after.tablesTruncated) uncertain.push('more than 5000 tables: the rest were not read');
  const lsnBefore = lsnValue(before.lsn);
  const lsnAfter = lsnValue(after.lsn);
  return {
    writesDetected: rowsChanged > 0 || tablesAdded.length > 0 || tablesDropped.length > 0 || uncertain.length > 0,
    rowsChangedByTable,
    rowsChanged,
    lsnAdvanced: sameBranch && lsnBefore !== null && lsnAfter !== null ? lsnAfter > lsnBefore : null,
    tablesAdded,
    tablesDropped,
    uncertain,
    // Under a fence at both readings, sessions start read-only and the older ones were ended (and flushed at exit).
    exact: after.otherSessions === 0 || (before.databaseReadOnly && after.databaseReadOnly),
    elapsedMs: Date.parse(after.at) - Date.parse(before.at),
  };
}
