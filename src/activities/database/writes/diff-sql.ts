import { quote } from './reconcile-schema';
import { keyExpr, rowOver } from './reconcile-sql';
import type { BranchSession } from './session';
import { compareCodePoints, CursorRows, type KeyedRow } from './stream';

/** A table of the compared schemas as one side's catalog has it. */
export type ListedTable = { schema: string; table: string; columns: string[] };

/** Ordinary and partitioned tables (not partitions: their rows are read through the parent) of `schemas`. */
export async function listTables(session: BranchSession, schemas: string[]): Promise<Map<string, ListedTable>> {
  const rows = await session.query<ListedTable>(
    `SELECT n.nspname AS schema, c.relname AS "table",
       coalesce(array_agg(a.attname::text ORDER BY a.attnum) FILTER (WHERE a.attname IS NOT NULL), '{}') AS columns
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = ANY($1::text[])
     GROUP BY 1, 2`,
    [schemas],
  );
  return new Map(rows.map((row) => [`${row.schema}.${row.table}`, row]));
}

/** A table's SQL name and its row text over every column either side has (rowOver). */
export type TableSide = { sql: string; row: string };

/**
 * Row count and an order-independent hash (two sums of 64-bit halves of each row's md5), computed in the database:
 * equal tables are found without a row leaving it, and without a sort.
 */
export async function tableSum(session: BranchSession, side: TableSide): Promise<string> {
  const [sum] = await session.query<{ n: string; a: string; b: string }>(
    `SELECT count(*)::text AS n, coalesce(sum(('x' || left(h, 16))::bit(64)::bigint), 0)::text AS a,
       coalesce(sum(('x' || right(h, 16))::bit(64)::bigint), 0)::text AS b
     FROM (SELECT md5(${side.row}) AS h FROM ${side.sql} t) r`,
  );
  return `${sum!.n}:${sum!.a}:${sum!.b}`;
}

/** Key and row hash of every row, in code point order of the key's text. */
export function openKeyed(
  session: BranchSession,
  side: TableSide,
  key: string[],
  cursor: { name: string; onBatch: (rows: number) => void },
): Promise<CursorRows<KeyedRow>> {
  return CursorRows.open<KeyedRow>(session, {
    ...cursor,
    sql: `SELECT ${keyExpr(key)} COLLATE "C" AS k, md5(${side.row}) COLLATE "C" AS h FROM ${side.sql} t ORDER BY k, h`,
  });
}

/** The row hashes of a table without a key, in order. */
export function openRowHashes(
  session: BranchSession,
  side: TableSide,
  cursor: { name: string; onBatch: (rows: number) => void },
): Promise<CursorRows<{ h: string }>> {
  return CursorRows.open<{ h: string }>(session, {
    ...cursor,
    sql: `SELECT md5(${side.row}) COLLATE "C" AS h FROM ${side.sql} t ORDER BY h`,
  });
}

/**
 * One side of a table listed on both: every column either side has, in one order for both, the ones this side lacks
 * as null; so rows of two shapes compare column by column, and a column added without values changes nothing.
 */
export function sideOf(mine: ListedTable, theirs: ListedTable): TableSide {
  const columns = [...new Set([...mine.columns, ...theirs.columns])].sort(compareCodePoints);
  const has = new Set(mine.columns);
  return { sql: `${quote(mine.schema)}.${quote(mine.table)}`, row: rowOver(columns, (column) => has.has(column)) };
}
