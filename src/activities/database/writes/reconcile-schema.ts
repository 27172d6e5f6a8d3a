import { writeFailure } from './failures';
import type { BranchSession } from './session';
import type { ReconcileTable } from '../../contract';

/** A table as found in one database: every name here comes from the catalog, never from the caller's text. */
export type TableShape = {
  /** Quoted "schema"."table", safe in SQL text. */
  sql: string;
  /** Column name -> its type (catalog text, e.g. "numeric(10,2)") and whether a value may be written to it. */
  columns: Map<string, { type: string; writable: boolean; identityAlways: boolean }>;
  /** Sets of columns that are unique (primary key and unique indexes without predicates or expressions). */
  uniqueSets: string[][];
  /** The primary key's columns in index order, or null. */
  primaryKey: string[] | null;
};

const quote = (ident: string) => `"${ident.replace(/"/g, '""')}"`;

/** "table" or "schema.table": at most one dot, no quotes, nothing empty or longer than Postgres allows. */
export function splitName(name: string): { schema: string; table: string } {
  const parts = name.split('.');
  if (parts.length > 2 || parts.some((part) => part.length === 0 || part.length > 63 || /["\0]/.test(part)))
    throw writeFailure('ReconcileFailed', `"${name}" is not a table name (table or schema.table)`);
  return parts.length === 2 ? { schema: parts[0]!, table: parts[1]! } : { schema: 'public', table: parts[0]! };
}

/** A table's shape by exact (case-sensitive) name, or null when no ordinary or partitioned table has that name. */
export function findShape(session: BranchSession, name: string): Promise<TableShape | null> {
  const { schema, table } = splitName(name);
  return shapeOf(session, schema, table);
}

/** `findShape` by the catalog's own names (which may hold dots or quotes). */
export async function shapeOf(session: BranchSession, schema: string, table: string): Promise<TableShape | null> {
  const [rel] = await session.query<{ oid: number }>(
    `SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`,
    [schema, table],
  );
  if (!rel) return null;
  const columns = await session.query<{ name: string; type: string; generated: string; identity: string }>(
    `SELECT attname AS name, format_type(atttypid, atttypmod) AS type, attgenerated::text AS generated,
       attidentity::text AS identity FROM pg_attribute
      WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    [rel.oid],
  );
  const uniques = await session.query<{ cols: string[]; is_primary: boolean }>(
    `SELECT array_agg(a.attname::text ORDER BY k.n) AS cols, bool_or(i.indisprimary) AS is_primary FROM pg_index i
       CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = $1 AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
      GROUP BY i.indexrelid`,
    [rel.oid],
  );
  return {
    sql: `${quote(schema)}.${quote(table)}`,
    columns: new Map(
      columns.map((column) => [
        column.name,
        { type: column.type, writable: column.generated === '', identityAlways: column.identity === 'a' },
      ]),
    ),
    uniqueSets: uniques.map((unique) => [...unique.cols].sort()),
    primaryKey: uniques.find((unique) => unique.is_primary)?.cols ?? null,
  };
}

/** `findShape`, refusing a name that is not an ordinary or partitioned table. */
export async function readShape(session: BranchSession, name: string, side: string): Promise<TableShape> {
  const shape = await findShape(session, name);
  if (!shape) {
    const { schema, table } = splitName(name);
    throw writeFailure('ReconcileFailed', `table ${schema}.${table} does not exist on the ${side}`);
  }
  return shape;
}

/** A column of prod's the target cannot take as it is, and why ("dropped on dev", "retyped on dev from X to Y"). */
export type ColumnProblem = { column: string; problem: string };

/** What one table's reconciliation works with, checked against source, target and (in three-way mode) the base. */
export type TablePlan = {
  name: string;
  key: string[];
  /**
   * Columns whose values decide what changed: on the source, the target and the base, of one type on source and
   * target, writable on the target. Hashes of every side cover exactly these.
   */
  compared: string[];
  /** Columns copied: the compared ones, and those the base lacks that source and target both have (same type). */
  columns: string[];
  /** Source columns the target lacks or types differently: left out of the copy, unless prod wrote to them. */
  leftOut: ColumnProblem[];
  timestampColumn?: string;
  source: TableShape;
  target: TableShape;
  /** null: the table is not on the base (prod created it since), so every source row is an insert. */
  base: TableShape | null;
};

function problemOf(column: string, source: TableShape, target: TableShape, base: TableShape | null): string | null {
  const ours = source.columns.get(column)!;
  const theirs = target.columns.get(column);
  const before = base?.columns.get(column);
  if (!theirs) return base && !before ? 'added on prod since the fork, not on dev' : 'dropped on dev';
  if (theirs.type === ours.type) return null;
  return before?.type === theirs.type
    ? `retyped on prod since the fork from ${theirs.type} to ${ours.type}`
    : `retyped on dev from ${ours.type} to ${theirs.type}`;
}

/**
 * Maps prod's columns onto dev's. A column dev added takes its default in copied rows; one prod has and dev dropped
 * or retyped is left out (the caller fails if prod wrote to it since the base); one prod added since the base is
 * compared on no side, since the base has no values for it, and copied where dev has it too.
 */
export function planTable(
  table: ReconcileTable,
  source: TableShape,
  target: TableShape,
  base: TableShape | null,
): TablePlan {
  const missing = (shape: TableShape, names: string[]) => names.filter((name) => !shape.columns.has(name));
  for (const [shape, side] of [
    [source, 'source'],
    [target, 'target'],
  ] as const) {
    const absent = missing(shape, [...table.key, ...(table.timestampColumn ? [table.timestampColumn] : [])]);
    if (absent.length)
      throw writeFailure('ReconcileFailed', `${table.table}: no column ${absent.join(', ')} on the ${side}`);
    const key = [...table.key].sort().join(',');
    if (!shape.uniqueSets.some((unique) => unique.join(',') === key))
      throw writeFailure(
        'ReconcileFailed',
        `${table.table}: (${table.key.join(', ')}) is not a primary key or unique index on the ${side}`,
      );
  }
  const noKey = base ? missing(base, table.key) : [];
  if (noKey.length) throw writeFailure('ReconcileFailed', `${table.table}: no column ${noKey.join(', ')} on the base`);
  const columns: string[] = [];
  const compared: string[] = [];
  const leftOut: ColumnProblem[] = [];
  for (const [name, column] of source.columns) {
    const onTarget = target.columns.get(name);
    // A value the target computes itself (generated), or prod derived (generated on prod), is no data to carry.
    if ((onTarget && !onTarget.writable) || (!onTarget && !column.writable)) continue;
    const problem = problemOf(name, source, target, base);
    if (problem) leftOut.push({ column: name, problem });
    else {
      columns.push(name);
      if (!base || base.columns.has(name)) compared.push(name);
    }
  }
  return {
    name: table.table,
    key: table.key,
    compared,
    columns,
    leftOut,
    timestampColumn: table.timestampColumn,
    source,
    target,
    base,
  };
}

export { quote };
