import type { RowHashes } from './reconcile-diff';
import { quote, type TablePlan, type TableShape } from './reconcile-schema';
import type { BranchSession } from './session';

export const BATCH = 500;

const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * Every session of a reconciliation renders values the same way, so equal rows give equal text (and hashes) in all
 * three databases whatever their own defaults: to_jsonb prints timestamptz in the session's time zone.
 */
export const SAME_RENDERING =
  "SET TimeZone = 'UTC'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 1; SET bytea_output = 'hex'";

/** The row's key as jsonb text: {"id": 7}. Identical across databases for equal values. */
const keyExpr = (key: string[]) =>
  `jsonb_build_object(${key.map((k) => `${literal(k)}, t.${quote(k)}`).join(', ')})::text`;

/** Columns of this database's table that are not compared (e.g. a column dev added): left out of the row text. */
const excluded = (shape: TableShape, p: TablePlan) => [...shape.columns.keys()].filter((c) => !p.columns.includes(c));

const rowText = '(to_jsonb(t) - $1::text[])::text';

/** A set of keys (or rows) as a relation typed by this table's column types. */
const recordset = (shape: TableShape, cols: string[], param: string) =>
  `jsonb_to_recordset(${param}::jsonb) AS r(${cols.map((c) => `${quote(c)} ${shape.columns.get(c)!.type}`).join(', ')})`;

const keyJoin = (key: string[]) => key.map((k) => `t.${quote(k)} = r.${quote(k)}`).join(' AND ');

const asArray = (items: string[]) => `[${items.join(',')}]`;

/** Key -> hash of every row, or of the rows whose timestamp column is after `since`. */
export async function readHashes(
  s: BranchSession,
  shape: TableShape,
  p: TablePlan,
  since?: string,
): Promise<RowHashes> {
  const where = since ? `WHERE t.${quote(p.timestampColumn!)} > $2::timestamptz` : '';
  const rows = await s.query<{ k: string; h: string }>(
    `SELECT ${keyExpr(p.key)} AS k, md5(${rowText}) AS h FROM ${shape.sql} t ${where}`,
    since ? [excluded(shape, p), since] : [excluded(shape, p)],
  );
  return new Map(rows.map((r) => [r.k, r.h]));
}

/** Hashes of the rows with these keys (absent keys are absent from the map). */
export async function readHashesOf(
  s: BranchSession,
  shape: TableShape,
  p: TablePlan,
  keys: string[],
): Promise<RowHashes> {
  const out: RowHashes = new Map();
  for (let i = 0; i < keys.length; i += BATCH) {
    const rows = await s.query<{ k: string; h: string }>(
      `SELECT ${keyExpr(p.key)} AS k, md5(${rowText}) AS h FROM ${shape.sql} t
         JOIN ${recordset(shape, p.key, '$2')} ON ${keyJoin(p.key)}`,
      [excluded(shape, p), asArray(keys.slice(i, i + BATCH))],
    );
    for (const r of rows) out.set(r.k, r.h);
  }
  return out;
}

/** The compared columns of the rows with these keys, as jsonb text, for the target to take in. */
export async function readRows(s: BranchSession, p: TablePlan, keys: string[]): Promise<string[]> {
  const rows = await s.query<{ row: string }>(
    `SELECT ${rowText} AS row FROM ${p.source.sql} t JOIN ${recordset(p.source, p.key, '$2')} ON ${keyJoin(p.key)}`,
    [excluded(p.source, p), asArray(keys)],
  );
  return rows.map((r) => r.row);
}

export async function insertRows(s: BranchSession, p: TablePlan, rows: string[]): Promise<number> {
  const cols = p.columns.map(quote).join(', ');
  // OVERRIDING SYSTEM VALUE: an identity key keeps the value old prod gave it.
  const done = await s.query<{ n: number }>(
    `WITH ins AS (INSERT INTO ${p.target.sql} (${cols}) OVERRIDING SYSTEM VALUE
       SELECT ${cols} FROM ${recordset(p.target, p.columns, '$1')} RETURNING 1) SELECT count(*)::int AS n FROM ins`,
    [asArray(rows)],
  );
  return done[0]?.n ?? 0;
}

export async function updateRows(s: BranchSession, p: TablePlan, rows: string[]): Promise<number> {
  const set = p.columns.filter((c) => !p.key.includes(c) && !p.target.columns.get(c)!.identityAlways);
  if (set.length === 0) return 0;
  const done = await s.query<{ n: number }>(
    `WITH upd AS (UPDATE ${p.target.sql} t SET ${set.map((c) => `${quote(c)} = r.${quote(c)}`).join(', ')}
       FROM ${recordset(p.target, p.columns, '$1')} WHERE ${keyJoin(p.key)} RETURNING 1) SELECT count(*)::int AS n FROM upd`,
    [asArray(rows)],
  );
  return done[0]?.n ?? 0;
}

export async function deleteRows(s: BranchSession, p: TablePlan, keys: string[]): Promise<number> {
  const done = await s.query<{ n: number }>(
    `WITH del AS (DELETE FROM ${p.target.sql} t USING ${recordset(p.target, p.key, '$1')} WHERE ${keyJoin(p.key)}
       RETURNING 1) SELECT count(*)::int AS n FROM del`,
    [asArray(keys)],
  );
  return done[0]?.n ?? 0;
}

/**
 * Copied rows keep old prod's serial or identity values, which the new prod's sequences have not handed out: move
 * each such sequence past the largest value so the application's next insert does not collide with a copied row.
 */
export async function advanceSequences(s: BranchSession, p: TablePlan): Promise<string[]> {
  const moved: string[] = [];
  for (const c of p.columns) {
    const [seq] = await s.query<{ seq: string | null }>('SELECT pg_get_serial_sequence($1, $2) AS seq', [
      p.target.sql,
      c,
    ]);
    if (!seq?.seq) continue;
    const [r] = await s.query<{ moved: boolean }>(
      `SELECT coalesce((SELECT setval($1::regclass, m::bigint) > 0 FROM (SELECT max(${quote(c)}) AS m FROM ${p.target.sql}) x
         WHERE m IS NOT NULL AND m::bigint > coalesce(pg_sequence_last_value($1::regclass), 0)), false) AS moved`,
      [seq.seq],
    );
    if (r?.moved) moved.push(seq.seq);
  }
  return moved;
}
