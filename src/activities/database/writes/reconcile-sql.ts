import type { RowHashes } from './reconcile-diff';
import { quote, type TablePlan, type TableShape } from './reconcile-schema';
import type { BranchSession } from './session';
import { CursorRows, type KeyedRow } from './stream';

export const BATCH = 500;

const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;

/**
 * Every session of a reconciliation renders values the same way, so equal rows give equal text (and hashes) in all
 * three databases whatever their own defaults: to_jsonb prints timestamptz in the session's time zone.
 */
export const SAME_RENDERING =
  "SET TimeZone = 'UTC'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 1; SET bytea_output = 'hex'";

/** A read-only transaction whose one snapshot every read of the session sees. */
export const READ_ONLY_SNAPSHOT = 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY';

/** The row's key as jsonb text: {"id": 7}. Identical across databases for equal values. */
export const keyExpr = (key: string[]) =>
  `jsonb_build_object(${key.map((column) => `${literal(column)}, t.${quote(column)}`).join(', ')})::text`;

/** Columns of this database's table outside `columns` (e.g. a column dev added): left out of the row text. */
const excluded = (shape: TableShape, columns: string[]) =>
  [...shape.columns.keys()].filter((column) => !columns.includes(column));

const rowText = '(to_jsonb(t) - $1::text[])::text';

/** A set of keys (or rows) as a relation typed by this table's column types. */
const recordset = (shape: TableShape, cols: string[], param: string) =>
  `jsonb_to_recordset(${param}::jsonb) AS r(${cols.map((column) => `${quote(column)} ${shape.columns.get(column)!.type}`).join(', ')})`;

const keyJoin = (key: string[]) => key.map((column) => `t.${quote(column)} = r.${quote(column)}`).join(' AND ');

const asArray = (items: string[]) => `[${items.join(',')}]`;

/**
 * A row's text over `columns` in the order given, a column the table lacks as null. Record output is each type's own
 * text, as jsonb's is for equal values, and cheaper to build: the streams render every row with it.
 */
export const rowOver = (columns: string[], has: (column: string) => boolean): string =>
  `ROW(${columns.map((column) => (has(column) ? `t.${quote(column)}` : 'NULL')).join(', ')})::text`;

/**
 * Key and hash of every row (or of those whose timestamp column is after `since`), in code point order of the key's
 * text, through a cursor, so the worker holds a batch and not the table. The hash covers all of prod's columns (the
 * base renders them too: without the ones prod dropped since, with the ones it added as null), so it tells whether
 * prod changed the row in any of them.
 */
export function openHashes(
  session: BranchSession,
  shape: TableShape,
  table: TablePlan,
  cursor: { name: string; since?: string; onBatch?: (rowsRead: number) => void },
): Promise<CursorRows<KeyedRow>> {
  const { since } = cursor;
  const where = since ? `WHERE t.${quote(table.timestampColumn!)} > $1::timestamptz` : '';
  const row = rowOver([...table.source.columns.keys()], (column) => shape.columns.has(column));
  return CursorRows.open<KeyedRow>(session, {
    ...cursor,
    sql: `SELECT ${keyExpr(table.key)} COLLATE "C" AS k, md5(${row}) COLLATE "C" AS h FROM ${shape.sql} t ${where}
           ORDER BY k, h`,
    params: since ? [since] : undefined,
  });
}

/** Hashes of the compared columns of the rows with these keys (absent keys are absent from the map). */
export async function readHashesOf(
  session: BranchSession,
  shape: TableShape,
  table: TablePlan,
  keys: string[],
): Promise<RowHashes> {
  const out: RowHashes = new Map();
  for (let i = 0; i < keys.length; i += BATCH) {
    const rows = await session.query<{ k: string; h: string }>(
      `SELECT ${keyExpr(table.key)} AS k, md5(${rowText}) AS h FROM ${shape.sql} t
         JOIN ${recordset(shape, table.key, '$2')} ON ${keyJoin(table.key)}`,
      [excluded(shape, table.compared), asArray(keys.slice(i, i + BATCH))],
    );
    for (const row of rows) out.set(row.k, row.h);
  }
  return out;
}

/**
 * Per key, the md5 of each of `columns`' values (null where the value is null or the table has no such column), so
 * two databases' values can be compared in the worker without carrying them.
 */
export async function readValueHashes(
  session: BranchSession,
  shape: TableShape,
  key: string[],
  columns: string[],
  keys: string[],
): Promise<Map<string, (string | null)[]>> {
  const values = columns.map((column) =>
    shape.columns.has(column) ? `md5(to_jsonb(t.${quote(column)})::text)` : 'NULL::text',
  );
  const out = new Map<string, (string | null)[]>();
  for (let i = 0; i < keys.length; i += BATCH) {
    const rows = await session.query<{ k: string; v: (string | null)[] }>(
      `SELECT ${keyExpr(key)} AS k, ARRAY[${values.join(', ')}]::text[] AS v FROM ${shape.sql} t
         JOIN ${recordset(shape, key, '$1')} ON ${keyJoin(key)}`,
      [asArray(keys.slice(i, i + BATCH))],
    );
    for (const row of rows) out.set(row.k, row.v);
  }
  return out;
}

/** The copied columns of the rows with these keys, as jsonb text, for the target to take in. */
export async function readRows(session: BranchSession, table: TablePlan, keys: string[]): Promise<string[]> {
  const rows = await session.query<{ row: string }>(
    `SELECT ${rowText} AS row FROM ${table.source.sql} t JOIN ${recordset(table.source, table.key, '$2')} ON ${keyJoin(table.key)}`,
    [excluded(table.source, table.columns), asArray(keys)],
  );
  return rows.map(({ row }) => row);
}

export async function insertRows(session: BranchSession, table: TablePlan, rows: string[]): Promise<number> {
  const cols = table.columns.map(quote).join(', ');
  // OVERRIDING SYSTEM VALUE: an identity key keeps the value old prod gave it.
  const done = await session.query<{ n: number }>(
    `WITH ins AS (INSERT INTO ${table.target.sql} (${cols}) OVERRIDING SYSTEM VALUE
       SELECT ${cols} FROM ${recordset(table.target, table.columns, '$1')} RETURNING 1) SELECT count(*)::int AS n FROM ins`,
    [asArray(rows)],
  );
  return done[0]?.n ?? 0;
}

export async function updateRows(session: BranchSession, table: TablePlan, rows: string[]): Promise<number> {
  const set = table.columns.filter(
    (column) => !table.key.includes(column) && !table.target.columns.get(column)!.identityAlways,
  );
  if (set.length === 0) return 0;
  const done = await session.query<{ n: number }>(
    `WITH upd AS (UPDATE ${table.target.sql} t SET ${set.map((column) => `${quote(column)} = r.${quote(column)}`).join(', ')}
       FROM ${recordset(table.target, table.columns, '$1')} WHERE ${keyJoin(table.key)} RETURNING 1) SELECT count(*)::int AS n FROM upd`,
    [asArray(rows)],
  );
  return done[0]?.n ?? 0;
}

export async function deleteRows(session: BranchSession, table: TablePlan, keys: string[]): Promise<number> {
  const done = await session.query<{ n: number }>(
    `WITH del AS (DELETE FROM ${table.target.sql} t USING ${recordset(table.target, table.key, '$1')} WHERE ${keyJoin(table.key)}
       RETURNING 1) SELECT count(*)::int AS n FROM del`,
    [asArray(keys)],
  );
  return done[0]?.n ?? 0;
}

/**
 * Copied rows keep old prod's serial or identity values, which the new prod's sequences have not handed out: move
 * each such sequence past the largest value so the application's next insert does not collide with a copied row.
 */
export async function advanceSequences(session: BranchSession, table: TablePlan): Promise<string[]> {
  const moved: string[] = [];
  for (const column of table.columns) {
    const [seq] = await session.query<{ seq: string | null }>('SELECT pg_get_serial_sequence($1, $2) AS seq', [
      table.target.sql,
      column,
    ]);
    if (!seq?.seq) continue;
    const [result] = await session.query<{ moved: boolean }>(
      `SELECT coalesce((SELECT setval($1::regclass, m::bigint) > 0 FROM (SELECT max(${quote(column)}) AS m FROM ${table.target.sql}) x
         WHERE m IS NOT NULL AND m::bigint > coalesce(pg_sequence_last_value($1::regclass), 0)), false) AS moved`,
      [seq.seq],
    );
    if (result?.moved) moved.push(seq.seq);
  }
  return moved;
}
