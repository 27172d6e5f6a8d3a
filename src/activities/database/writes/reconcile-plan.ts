import type { ReconcileInput, ReconcileTableResult } from '../../contract';
import { currentContext } from '../../failures';
import { decide, type LateChange, type RowPlan } from './reconcile-diff';
import { findShape, planTable, readShape, type TablePlan } from './reconcile-schema';
import * as sql from './reconcile-sql';
import type { BranchSession } from './session';
import { mergeKeyed, type CursorRows, type KeyedRow } from './stream';

export type Sessions = { source: BranchSession; base: BranchSession | null; target: BranchSession };

export type PlannedTable = {
  table: TablePlan;
  rows: RowPlan;
  late: ReconcileTableResult['lateWrites'];
  /** Columns prod has and dev dropped or retyped, which prod did not write to since the base. */
  columnsLeftOut: string[];
};

/** Something prod wrote since the base that dev's schema has no place for: a column, or a whole table. */
export type SchemaProblem = { table: string; column: string | null; problem: string };

const heartbeat = (detail: string) => currentContext()?.heartbeat(detail);

/** What prod changed since the base in one table, by key. */
export type Changes = {
  /** Changes to the columns carried: what the target is matched against and written. */
  late: Map<string, LateChange>;
  /** Rows prod updated in left-out columns only: nothing to carry, but maybe data dev has no place for. */
  leftOutOnly: string[];
};

/**
 * What prod received since the base, key by key. Both sides are streamed in key order and merged, so the worker holds
 * the changed keys, not the table; then the changed rows' compared columns are hashed on each side. Without a base
 * (timestamp mode) the rows stamped after `since` are upserts; a table the base lacks (prod created it since) is all
 * inserts.
 */
export async function lateChanges({ source, base }: Sessions, table: TablePlan, since?: string): Promise<Changes> {
  const changed = new Map<string, LateChange['kind']>();
  const progress = (side: string) => (rows: number) => heartbeat(`reading ${table.name} on the ${side}: ${rows} rows`);
  const cursors: CursorRows<KeyedRow>[] = [];
  try {
    const now = await sql.openHashes(source, table.source, table, {
      name: 'np_source_rows',
      since: base ? undefined : since,
      onBatch: progress('source'),
    });
    cursors.push(now);
    if (base && table.base) {
      const before = await sql.openHashes(base, table.base, table, { name: 'np_base_rows', onBatch: progress('base') });
      cursors.push(before);
      await mergeKeyed(before, now, ({ kind, key }) => changed.set(key, kind));
    } else {
      const kind = base ? 'insert' : 'upsert';
      for await (const row of now) changed.set(row.k, kind);
    }
  } finally {
    // After a failure the transaction is aborted and refuses CLOSE: its rollback drops the cursors instead.
    for (const cursor of cursors) await cursor.close().catch(() => undefined);
  }
  const keysOf = (...kinds: LateChange['kind'][]) => [...changed].filter(([, k]) => kinds.includes(k)).map(([k]) => k);
  const now = await sql.readHashesOf(source, table.source, table, keysOf('insert', 'update', 'upsert'));
  const before =
    base && table.base
      ? await sql.readHashesOf(base, table.base, table, keysOf('update', 'delete'))
      : new Map<string, string>();
  const out: Changes = { late: new Map(), leftOutOnly: [] };
  for (const [key, kind] of changed) {
    const change = { kind, base: before.get(key), source: now.get(key) };
    // Prod changed only columns that are not carried: nothing to write, but maybe data dev has no place for.
    if (kind === 'update' && change.base === change.source) {
      if (table.leftOut.length > 0) out.leftOutOnly.push(key);
    } else out.late.set(key, change);
  }
  return out;
}

/**
 * The left-out columns prod wrote to since the base: a value in a row it inserted (or, without a base, stamped), or a
 * value other than the base's in a row it updated. A value that was already there when dev forked is dev's to drop.
 */
async function writtenColumns(
  { source, base }: Sessions,
  table: TablePlan,
  { late, leftOutOnly }: Changes,
): Promise<Set<string>> {
  const columns = table.leftOut.map(({ column }) => column);
  const written = new Set<string>();
  if (columns.length === 0) return written;
  const updated = new Set(leftOutOnly);
  for (const [key, change] of late) if (change.kind === 'update') updated.add(key);
  const keys = [...late].filter(([, change]) => change.source !== undefined).map(([key]) => key);
  keys.push(...leftOutOnly);
  for (let i = 0; i < keys.length && written.size < columns.length; i += sql.BATCH) {
    const batch = keys.slice(i, i + sql.BATCH);
    const now = await sql.readValueHashes(source, table.source, table.key, columns, batch);
    const changed = batch.filter((key) => updated.has(key));
    const before =
      base && table.base && changed.length > 0
        ? await sql.readValueHashes(base, table.base, table.key, columns, changed)
        : new Map<string, (string | null)[]>();
    for (const [key, values] of now) {
      const was = before.get(key);
      values.forEach((value, j) => {
        if (value !== null && value !== (was?.[j] ?? null)) written.add(columns[j]!);
      });
    }
  }
  return written;
}

/**
 * Reads each table on all sides (the target inside its transaction) and decides what to write. A table or column
 * dev's schema cannot take is collected rather than thrown at once, so one failure names every such problem.
 */
export async function planAll(
  sessions: Sessions,
  input: ReconcileInput,
): Promise<{ planned: PlannedTable[]; problems: SchemaProblem[] }> {
  const planned: PlannedTable[] = [];
  const problems: SchemaProblem[] = [];
  for (const requested of input.tables) {
    const name = requested.table;
    heartbeat(`reading ${name}`);
    const source = await readShape(sessions.source, name, 'source');
    const target = await findShape(sessions.target, name);
    const base = sessions.base ? await findShape(sessions.base, name) : null;
    if (!target) {
      const problem = sessions.base && !base ? 'added on prod since the fork, not on dev' : 'dropped on dev';
      problems.push({ table: name, column: null, problem });
      continue;
    }
    const table = planTable(requested, source, target, base);
    const changes = await lateChanges(sessions, table, input.since);
    const written = await writtenColumns(sessions, table, changes);
    const { late: lateByKey } = changes;
    const blocked = table.leftOut.filter(({ column }) => written.has(column));
    for (const { column, problem } of blocked) problems.push({ table: name, column, problem });
    // Once the run is going to fail, what the target holds no longer matters: the other tables are still read so
    // that the failure lists every problem.
    if (problems.length > 0) continue;
    const targetHashes = await sql.readHashesOf(sessions.target, target, table, [...lateByKey.keys()]);
    const late = { inserts: 0, updates: 0, deletes: 0, upserts: 0 };
    for (const change of lateByKey.values()) late[`${change.kind}s`]++;
    planned.push({
      table,
      rows: decide(lateByKey, targetHashes, input.onConflict),
      late,
      columnsLeftOut: table.leftOut.map(({ column }) => column),
    });
  }
  return { planned, problems };
}

/** "column items.legacy dropped on dev, table orders dropped on dev". */
export const describeProblems = (problems: SchemaProblem[]): string =>
  problems
    .map(({ table, column, problem }) =>
      column ? `column ${table}.${column} ${problem}` : `table ${table} ${problem}`,
    )
    .join(', ');
