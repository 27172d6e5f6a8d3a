import { z } from 'zod';
import type { CallOptions } from '../../../neon';
import type { DiffSinceForkResult, TableChanges, WriteActivities } from '../../contract';
import type { ActivityDeps } from '../../deps';
import { activity, currentContext, failure } from '../../failures';
import { neonId } from '../../inputs';
import { listTables, openKeyed, openRowHashes, sideOf, tableSum, type ListedTable } from './diff-sql';
import { shapeOf, splitName, type TableShape } from './reconcile-schema';
import { READ_ONLY_SNAPSHOT, SAME_RENDERING } from './reconcile-sql';
import { withBranches } from './branches';
import type { BranchSession } from './session';
import { compareCodePoints, mergeKeyed, mergeMultiset, type CursorRows } from './stream';

const diffInput = z.object({
  projectId: neonId,
  databaseName: z.string().min(1).max(63),
  roleName: z.string().min(1).max(63),
  baseBranchId: neonId,
  baseEndpointId: neonId.optional(),
  sourceBranchId: neonId,
  sourceEndpointId: neonId.optional(),
  keys: z
    .array(
      z.object({
        table: z.string().regex(/^[^."\0]{1,63}(\.[^."\0]{1,63})?$/, 'table or schema.table'),
        key: z.array(z.string().min(1).max(63)).min(1).max(32),
      }),
    )
    .max(200)
    .default([]),
  schemas: z
    .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]{0,62}$/, 'a plain schema name'))
    .min(1)
    .max(20)
    .default(['public']),
});
type DiffInput = z.infer<typeof diffInput>;

type Sides = { base: BranchSession; source: BranchSession };
type Listed = { base: Map<string, ListedTable>; source: Map<string, ListedTable> };

const heartbeat = (detail: string) => currentContext()?.heartbeat(detail);
const sameSet = (a: string[], b: string[]) => [...a].sort().join('\0') === [...b].sort().join('\0');
const isUnique = (shape: TableShape, key: string[]) =>
  key.every((column) => shape.columns.has(column)) && shape.uniqueSets.some((unique) => sameSet(unique, key));

/** The keys the run named, by "schema.table", each a primary key or unique index on both sides. */
async function namedKeys(sides: Sides, input: DiffInput, listed: Listed): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const [i, { table, key }] of input.keys.entries()) {
    const { schema, table: relname } = splitName(table);
    const name = `${schema}.${relname}`;
    const field = `keys.${i}.table`;
    if (out.has(name)) throw failure('InvalidInput', `keys: ${name} is named twice`, { field });
    if (!listed.base.has(name) && !listed.source.has(name))
      throw failure('InvalidInput', `keys: no table ${name} at the fork point or on prod`, { field });
    out.set(name, key);
    // A table on one side only is listed as added or dropped; its key is never used.
    if (!listed.base.has(name) || !listed.source.has(name)) continue;
    for (const [where, session] of [
      ['at the fork point', sides.base],
      ['on prod', sides.source],
    ] as const) {
      const shape = await shapeOf(session, schema, relname);
      const refusal = `keys: (${key.join(', ')}) is not a primary key or unique index of ${name} ${where}`;
      if (!shape || !isUnique(shape, key)) throw failure('InvalidInput', refusal, { field: `keys.${i}.key` });
    }
  }
  return out;
}

/** The table's primary key when both sides have the same one, else null (rows are then compared as multisets). */
async function primaryKey(sides: Sides, table: ListedTable): Promise<string[] | null> {
  const [before, now] = await Promise.all([
    shapeOf(sides.base, table.schema, table.table),
    shapeOf(sides.source, table.schema, table.table),
  ]);
  const key = now?.primaryKey;
  return key && before?.primaryKey?.join('\0') === key.join('\0') ? key : null;
}

/**
 * One table on both sides: skipped when row count and sum hash agree, else diffed row by row, both sides streamed in
 * order and merged, so the worker holds two batches and at most five sample keys.
 */
async function diffTable(
  sides: Sides,
  pair: { base: ListedTable; source: ListedTable },
  named: string[] | undefined,
): Promise<TableChanges | null> {
  const name = `${pair.source.schema}.${pair.source.table}`;
  heartbeat(`comparing ${name}`);
  const base = sideOf(pair.base, pair.source);
  const source = sideOf(pair.source, pair.base);
  const [before, now] = await Promise.all([tableSum(sides.base, base), tableSum(sides.source, source)]);
  if (before === now) return null;
  const key = named ?? (await primaryKey(sides, pair.source));
  const progress = (side: string) => (rows: number) => heartbeat(`diffing ${name} on the ${side}: ${rows} rows`);
  const cursor = (side: string) => ({ name: `np_${side}_rows`, onBatch: progress(side) });
  const out: TableChanges = { table: name, key, exact: !!key, inserts: 0, updates: 0, deletes: 0, sampleKeys: [] };
  const cursors: CursorRows<unknown>[] = [];
  const opened = async <R>(pending: Promise<CursorRows<R>>) => {
    const rows = await pending;
    cursors.push(rows);
    return rows;
  };
  try {
    if (key) {
      const fork = await opened(openKeyed(sides.base, base, key, cursor('fork')));
      const prod = await opened(openKeyed(sides.source, source, key, cursor('prod')));
      await mergeKeyed(fork, prod, (change) => {
        out[`${change.kind}s`]++;
        if (out.sampleKeys.length < 5) out.sampleKeys.push(change.key);
      });
    } else {
      const fork = await opened(openRowHashes(sides.base, base, cursor('fork')));
      const prod = await opened(openRowHashes(sides.source, source, cursor('prod')));
      Object.assign(out, await mergeMultiset(fork, prod));
    }
  } finally {
    // After a failure the transaction is aborted and refuses CLOSE; the session's end drops the cursors then.
    for (const rows of cursors) await rows.close().catch(() => undefined);
  }
  return out.inserts + out.updates + out.deletes > 0 ? out : null;
}

async function diff(sides: Sides, input: DiffInput): Promise<DiffSinceForkResult> {
  for (const session of [sides.base, sides.source]) {
    await session.query(SAME_RENDERING);
    await session.query(READ_ONLY_SNAPSHOT);
  }
  // A table the run names a key for is compared wherever it lives.
  const schemas = [...new Set([...input.schemas, ...input.keys.map(({ table }) => splitName(table).schema)])];
  const [atFork, now] = await Promise.all([listTables(sides.base, schemas), listTables(sides.source, schemas)]);
  const listed = { base: atFork, source: now };
  const keys = await namedKeys(sides, input, listed);
  const names = (from: Map<string, ListedTable>, without: Map<string, ListedTable>) =>
    [...from.keys()].filter((name) => !without.has(name)).sort(compareCodePoints);
  const common = [...now.keys()].filter((name) => atFork.has(name)).sort(compareCodePoints);
  const tables: TableChanges[] = [];
  for (const name of common) {
    const changes = await diffTable(sides, { base: atFork.get(name)!, source: now.get(name)! }, keys.get(name));
    if (changes) tables.push(changes);
  }
  return {
    tables,
    tablesAdded: names(now, atFork),
    tablesDropped: names(atFork, now),
    rowsChanged: tables.reduce((sum, table) => sum + table.inserts + table.updates + table.deletes, 0),
    tablesCompared: common.length,
  };
}

/** What prod wrote since dev was forked from it. */
export function diffActivities(deps: ActivityDeps) {
  const options = { sqlFailure: 'DetectionFailed' as const, statementTimeoutMs: 600_000 };
  return {
    /**
     * Every table of the schemas as at the fork point (base) and on prod now (source), compared in one read-only
     * snapshot per side: per table the rows prod inserted, updated and deleted since the fork, by the named key, the
     * primary key, or (without either) as multisets of rows. Tables whose row count and content hash agree are not
     * read row by row; the others are streamed in key order on both sides, so memory grows with the changes' sample,
     * not with the table.
     */
    diffSinceFork: activity(diffInput, async (input, call: CallOptions): Promise<DiffSinceForkResult> => {
      const on = (branchId: string, endpointId?: string) => ({ ...input, branchId, endpointId });
      const branches = [on(input.baseBranchId, input.baseEndpointId), on(input.sourceBranchId, input.sourceEndpointId)];
      return withBranches(deps, call, branches, options, ([base, source]) =>
        diff({ base: base!, source: source! }, input),
      );
    }),
  } satisfies Partial<WriteActivities>;
}
