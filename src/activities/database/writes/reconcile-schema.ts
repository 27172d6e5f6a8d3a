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
};

const quote = (ident: string) => `"${ident.replace(/"/g, '""')}"`;

/** "table" or "schema.table": at most one dot, no quotes, nothing empty or longer than Postgres allows. */
export function splitName(name: string): { schema: string; table: string } {
  const parts = name.split('.');
  if (parts.length > 2 || parts.some((part) => part.length === 0 || part.length > 63 || /["\0]/.test(part)))
    throw writeFailure('ReconcileFailed', `"${name}" is not a table name (table or schema.table)`);
  return parts.length === 2 ? { schema: parts[0]!, table: parts[1]! } : { schema: 'public', table: parts[0]! };
}

/** Reads a table's shape by exact (case-sensitive) name; refuses a name that is not an ordinary or partitioned table. */
export async function readShape(session: BranchSession, name: string, side: string): Promise<TableShape> {
  const { schema, table } = splitName(name);
  const [rel] = await session.query<{ oid: number }>(
    `SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`,
    [schema, table],
  );
  if (!rel) throw writeFailure('ReconcileFailed', `table ${schema}.${table} does not exist on the ${side}`);
  const columns = await session.query<{ name: string; type: string; generated: string; identity: string }>(
    `SELECT attname AS name, format_type(atttypid, atttypmod) AS type, attgenerated::text AS generated,
       attidentity::text AS identity FROM pg_attribute
      WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    [rel.oid],
  );
  const uniques = await session.query<{ cols: string[] }>(
    `SELECT array_agg(a.attname::text ORDER BY a.attname) AS cols FROM pg_index i
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
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
  };
}

/** What one table's reconciliation works with, checked against source and target. */
export type TablePlan = {
  name: string;
  key: string[];
  /** Columns compared and copied: writable on the target and present on the source. */
  columns: string[];
  timestampColumn?: string;
  source: TableShape;
  target: TableShape;
};

export function planTable(table: ReconcileTable, source: TableShape, target: TableShape): TablePlan {
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
  const columns = [...target.columns]
    .filter(([name, column]) => column.writable && source.columns.has(name))
    .map(([name]) => name);
  return { name: table.table, key: table.key, columns, timestampColumn: table.timestampColumn, source, target };
}

export { quote };
