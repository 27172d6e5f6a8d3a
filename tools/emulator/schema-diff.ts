import type { PoolClient } from 'pg';

const USER_NS = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'`;

/** DDL-like text of a database's schema, built from the catalogs (no pg_dump here), in a stable order. */
export async function dumpSchema(c: PoolClient): Promise<string> {
  const out: string[] = [];
  const rows = async (sql: string): Promise<Record<string, string>[]> =>
    (await c.query<Record<string, string>>(sql)).rows;
  for (const r of await rows(`SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1`))
    out.push(`CREATE EXTENSION IF NOT EXISTS ${r.extname};`, '');
  for (const r of await rows(`SELECT nspname FROM pg_namespace n WHERE ${USER_NS} AND nspname <> 'public' ORDER BY 1`))
    out.push(`CREATE SCHEMA ${r.nspname};`, '');
  for (const r of await rows(
    `SELECT n.nspname || '.' || t.typname AS name, string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder) AS labels
     FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_enum e ON e.enumtypid = t.oid
     WHERE ${USER_NS} GROUP BY 1 ORDER BY 1`,
  ))
    out.push(`CREATE TYPE ${r.name} AS ENUM (${r.labels});`, '');
  for (const r of await rows(
    `SELECT n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'S' AND ${USER_NS} ORDER BY 1`,
  ))
    out.push(`CREATE SEQUENCE ${r.name};`, '');
  const tables = await rows(
    `SELECT c.oid::text AS oid, n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND ${USER_NS} ORDER BY 2`,
  );
  for (const t of tables) {
    const cols = await rows(
      `SELECT a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
              || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
              || COALESCE(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '') AS def
       FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       WHERE a.attrelid = ${Number(t.oid)} AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    );
    out.push(`CREATE TABLE ${t.name} (`, cols.map((x) => `    ${x.def}`).join(',\n'), ');', '');
  }
  for (const r of await rows(
    `SELECT n.nspname || '.' || c.relname AS tbl, co.conname, pg_get_constraintdef(co.oid) AS def
     FROM pg_constraint co JOIN pg_class c ON c.oid = co.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE ${USER_NS} AND co.contype <> 'n' ORDER BY 1, 2`,
  ))
    out.push(`ALTER TABLE ONLY ${r.tbl}`, `    ADD CONSTRAINT ${r.conname} ${r.def};`, '');
  for (const r of await rows(
    `SELECT pg_get_indexdef(i.indexrelid) AS def FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
     JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE ${USER_NS} AND NOT EXISTS (SELECT 1 FROM pg_constraint co WHERE co.conindid = i.indexrelid) ORDER BY 1`,
  ))
    out.push(`${r.def};`, '');
  for (const r of await rows(
    `SELECT n.nspname || '.' || c.relname AS name, pg_get_viewdef(c.oid) AS def, c.relkind FROM pg_class c
     JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('v', 'm') AND ${USER_NS} ORDER BY 1`,
  ))
    out.push(`CREATE ${r.relkind === 'm' ? 'MATERIALIZED VIEW' : 'VIEW'} ${r.name} AS`, r.def!.trimEnd(), '');
  for (const r of await rows(
    `SELECT pg_get_functiondef(p.oid) AS def FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE ${USER_NS} AND p.prokind IN ('f', 'p')
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e') ORDER BY p.proname, 1`,
  ))
    out.push(`${r.def!.trimEnd()};`, '');
  for (const r of await rows(
    `SELECT pg_get_triggerdef(t.oid) AS def FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
     JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT t.tgisinternal AND ${USER_NS} ORDER BY 1`,
  ))
    out.push(`${r.def};`, '');
  return out.join('\n');
}

type Edit = { op: ' ' | '-' | '+'; line: string };

function lineDiff(a: string[], b: string[]): Edit[] {
  // LCS table; schemas are a few thousand lines at most, so O(n*m) is fine.
  const n = a.length;
  const m = b.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const edits: Edit[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      edits.push({ op: ' ', line: a[i++]! });
      j++;
    } else if (i < n && (j >= m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) edits.push({ op: '-', line: a[i++]! });
    else edits.push({ op: '+', line: b[j++]! });
  }
  return edits;
}

/** A unified diff (3 lines of context) from `base` to `target`; empty when they are equal. */
export function unifiedDiff(base: string, target: string, baseLabel: string, targetLabel: string): string {
  const a = base.split('\n');
  const b = target.split('\n');
  const edits = lineDiff(a, b);
  if (edits.every((e) => e.op === ' ')) return '';
  const out = [`--- ${baseLabel}`, `+++ ${targetLabel}`];
  const ctx = 3;
  let k = 0;
  let ai = 0;
  let bi = 0;
  while (k < edits.length) {
    if (edits[k]!.op === ' ') {
      k++;
      ai++;
      bi++;
      continue;
    }
    const start = Math.max(0, k - ctx);
    let end = k;
    for (let lastChange = k; end < edits.length && end - lastChange <= 2 * ctx; end++)
      if (edits[end]!.op !== ' ') lastChange = end;
    while (end > k && edits[end - 1]!.op === ' ' && end - 1 > k && countTail(edits, end) > ctx) end--;
    const hunk = edits.slice(start, end);
    const lead = k - start;
    const aStart = ai - lead;
    const bStart = bi - lead;
    const aLen = hunk.filter((e) => e.op !== '+').length;
    const bLen = hunk.filter((e) => e.op !== '-').length;
    out.push(`@@ -${aStart + 1},${aLen} +${bStart + 1},${bLen} @@`, ...hunk.map((e) => e.op + e.line));
    for (let x = k; x < end; x++) {
      if (edits[x]!.op !== '+') ai++;
      if (edits[x]!.op !== '-') bi++;
    }
    k = end;
  }
  return out.join('\n') + '\n';
}

function countTail(edits: Edit[], end: number): number {
  let n = 0;
  for (let x = end - 1; x >= 0 && edits[x]!.op === ' '; x--) n++;
  return n;
}
