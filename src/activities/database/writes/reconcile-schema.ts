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
  if (parts.length > 2 || parts.some((p) => p.length === 0 || p.length > 63 || /["\0]/.test(p)))
    throw writeFailure('ReconcileFailed', `"${name}" is not a table name (table or schema.table)`);
  return parts.length === 2 ? { schema: parts[0]!, table: parts[1]! } : { schema: 'public', table: parts[0]! };
}

/** Reads a table's shape by exact (case-sensitive) name; refuses a name that is not an ordinary or partitioned table. */
export async function readShape(s: BranchSession, name: string, where: string): Promise<TableShape> {
  const { schema, table } = splitName(name);
  const [rel] = await s.query<{ oid: number }>(
    `SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`,
    [schema, table],
  );
  if (!rel) throw writeFailure('ReconcileFailed', `table ${schema}.${table} does not exist on the ${where}`);
  const cols = await s.query<{ name: string; type: string; generated: string; identity: string }>(
    `SELECT attname AS name, format_type(atttypid, atttypmod) AS type, attgenerated::text AS generated,
       attidentity::text AS identity FROM pg_attribute
      WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    [rel.oid],
  );
  const uniques = await s.query<{ cols: string[] }>(
    `SELECT array_agg(a.attname::text ORDER BY a.attname) AS cols FROM pg_index i
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
      WHERE i.indrelid = $1 AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
      GROUP BY i.indexrelid`,
    [rel.oid],
  );
  return {
    sql: `${quote(schema)}.${quote(table)}`,
    columns: new Map(
      cols.map((c) => [c.name, { type: c.type, writable: c.generated === '', identityAlways: c.identity === 'a' }]),
    ),
    uniqueSets: uniques.map((u) => [...u.cols].sort()),
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

export function planTable(t: ReconcileTable, source: TableShape, target: TableShape): TablePlan {
  const missing = (shape: TableShape, cols: string[]) => cols.filter((c) => !shape.columns.has(c));
  for (const [shape, where] of [
    [source, 'source'],
    [target, 'target'],
  ] as const) {
    const absent = missing(shape, [...t.key, ...(t.timestampColumn ? [t.timestampColumn] : [])]);
    if (absent.length)
      throw writeFailure('ReconcileFailed', `${t.table}: no column ${absent.join(', ')} on the ${where}`);
    const key = [...t.key].sort().join(',');
    if (!shape.uniqueSets.some((u) => u.join(',') === key))
      throw writeFailure(
        'ReconcileFailed',
        `${t.table}: (${t.key.join(', ')}) is not a primary key or unique index on the ${where}`,
      );
  }
  const columns = [...target.columns].filter(([c, i]) => i.writable && source.columns.has(c)).map(([c]) => c);
  return { name: t.table, key: t.key, columns, timestampColumn: t.timestampColumn, source, target };
}

export { quote };
