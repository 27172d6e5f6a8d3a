import { sinceForkLines } from '../../src/cli/prod-writes';
import { terminal } from '../../src/cli/terminal';
import type { ReconcileTableResult } from '../../src/activities/contract';
import type { ProdWritesSinceFork, WriteReport } from '../../src/workflows/contract/definitions';

// The text a promotion's result and `status` show of prod's writes since the fork, from a constructed report.
const plain = terminal({ isTTY: false, write: () => true } as unknown as NodeJS.WriteStream);

const change = (table: string, counts: [number, number, number], handling: 'carry' | 'discard' | 'unhandled') => ({
  table,
  key: ['id'],
  exact: true,
  inserts: counts[0],
  updates: counts[1],
  deletes: counts[2],
  sampleKeys: ['{"id": 4711}'],
  handling,
});

const merged = (table: string, inserted: number, conflicts: number): ReconcileTableResult => ({
  table,
  lateWrites: { inserts: inserted, updates: 0, deletes: 0, upserts: 0 },
  alreadyPresent: 0,
  inserted,
  updated: 1,
  deleted: 0,
  conflicts,
  sampleConflictKeys: [],
  deletesDetected: true,
  sequencesAdvanced: [],
  columnsLeftOut: [],
});

function report(sinceFork: ProdWritesSinceFork | null, reconciled: WriteReport['reconciled'] = null): WriteReport {
  return {
    policy: 'fence',
    detected: false,
    rowsChanged: 0,
    rowsChangedByTable: {},
    exact: true,
    fence: null,
    reconciled,
    lost: null,
    untrackedTables: [],
    sinceFork,
    note: null,
  };
}

const forkPoint = { snapshotId: 'snap-1', name: 'np-fork-setup-1', createdAt: '2026-12-01T00:00:00Z' };

/** A count since the fork point above of these changed tables, and no table created or dropped. */
const counted = (tables: ProdWritesSinceFork['tables']): ProdWritesSinceFork => ({
  forkPoint,
  tables,
  tablesAdded: [],
  tablesDropped: [],
  rowsChanged: tables.reduce((sum, t) => sum + t.inserts + t.updates + t.deletes, 0),
  note: null,
});

test('each table with its counts and handling, a carried one with what the merge wrote; tables created and dropped', () => {
  const sinceFork: ProdWritesSinceFork = {
    ...counted([
      change('public.orders', [3, 1, 0], 'carry'),
      change('public.events', [5, 0, 0], 'discard'),
      { ...change('public.audit', [2, 0, 1], 'unhandled'), key: null, exact: false, sampleKeys: [] },
    ]),
    tablesAdded: [{ table: 'public.scratch', handling: 'unhandled' }],
    tablesDropped: [{ table: 'public.legacy', handling: 'discard' }],
  };
  const reconciled = { mode: 'three_way' as const, dryRun: false, tables: [merged('orders', 3, 2)], at: 'x' };
  expect(sinceForkLines(plain, report(sinceFork, reconciled))).toEqual([
    "prod's writes since the fork (np-fork-setup-1, 2026-12-01T00:00:00Z): 12 rows",
    '  public.orders   3 inserted, 1 updated, 0 deleted  carried: 3 inserted, 1 updated, 0 deleted, 2 conflicts',
    '  public.events   5 inserted, 0 updated, 0 deleted  discarded',
    '  public.audit    2 inserted, 0 updated, 1 deleted (no key: rows compared whole)  STOPPED: not carried or discarded',
    '  public.scratch  created on prod  STOPPED: not carried or discarded',
    '  public.legacy   dropped on prod  discarded',
  ]);
});

test('a carry not done (a dry run, a stop before the swap, or only counted under ignore) says so; none, no report', () => {
  const sinceFork = counted([change('public.orders', [1, 0, 0], 'carry')]);
  const onlyCounted = { mode: 'three_way' as const, dryRun: true, tables: [merged('orders', 1, 0)], at: 'x' };
  for (const reconciled of [null, onlyCounted])
    expect(sinceForkLines(plain, report(sinceFork, reconciled))).toEqual([
      "prod's writes since the fork (np-fork-setup-1, 2026-12-01T00:00:00Z): 1 row",
      '  public.orders  1 inserted, 0 updated, 0 deleted  to carry',
    ]);
  expect(sinceForkLines(plain, report(counted([])))).toEqual([
    "prod's writes since the fork (np-fork-setup-1, 2026-12-01T00:00:00Z): none",
  ]);
  expect(sinceForkLines(plain, report(null))).toEqual([]);
  expect(sinceForkLines(plain, null)).toEqual([]);
});

test('no fork point known: says so, with the note of what the run did about it', () => {
  const note = "no fork point is known for this project; let go on purpose (discardProdWrites '*')";
  const sinceFork = { forkPoint: null, tables: [], tablesAdded: [], tablesDropped: [], rowsChanged: 0, note };
  expect(sinceForkLines(plain, report(sinceFork))).toEqual([
    "prod's writes since the fork: no fork point known",
    `  ${note}`,
  ]);
});

test('no sample key reaches the text (they are rows of prod)', () => {
  const sinceFork = counted([change('public.orders', [1, 0, 0], 'unhandled')]);
  expect(sinceForkLines(plain, report(sinceFork)).join('\n')).not.toContain('4711');
});
