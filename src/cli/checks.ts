import { readFileSync } from 'node:fs';
import type { VerificationCheck } from '../activities/types';
import { InvalidInputError } from '../client/errors';

type Comparison = 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte';
const OPS: Record<string, Comparison> = {
  '=': 'eq',
  '==': 'eq',
  '!=': 'ne',
  '>': 'gt',
  '>=': 'gte',
  '<': 'lt',
  '<=': 'lte',
};

/**
 * Parses `--check "[name:] SQL => EXPECT"`. EXPECT is `rows N`, `rows OP N` (row count), `OP N` (the first column of
 * the first row compared as a number) or `is VALUE` (exact value: a number, true, false, null or a 'string').
 * Examples: "orders: SELECT count(*) FROM orders => >= 1", "SELECT status FROM health => is 'ok'".
 */
export function parseCheck(text: string, flag = '--check'): VerificationCheck {
  const at = text.lastIndexOf('=>');
  if (at < 0) throw bad(flag, text, 'expected "[name:] SQL => EXPECT"');
  let sql = text.slice(0, at).trim();
  const expectText = text.slice(at + 2).trim();
  const label = /^([A-Za-z0-9_ .-]{1,100}):\s+/.exec(sql);
  const name = label?.[1];
  if (label) sql = sql.slice(label[0].length).trim();
  if (!sql) throw bad(flag, text, 'the SQL is empty');
  return { kind: 'sql', ...(name ? { name } : {}), sql, expect: parseExpect(expectText, flag, text) };
}

function parseExpect(e: string, flag: string, text: string): Extract<VerificationCheck, { kind: 'sql' }>['expect'] {
  const rows = /^rows\s*(=|==|!=|>=|<=|>|<)?\s*(-?\d+)$/.exec(e);
  if (rows) {
    const value = Number(rows[2]);
    return rows[1] && rows[1] !== '=' && rows[1] !== '=='
      ? { rowCount: { op: OPS[rows[1]]!, value } }
      : { rowCount: value };
  }
  const cmp = /^(=|==|!=|>=|<=|>|<)\s*(-?\d+(\.\d+)?)$/.exec(e);
  if (cmp) return { compare: { op: OPS[cmp[1]!]!, value: Number(cmp[2]) } };
  const exact = /^is\s+(.+)$/.exec(e);
  if (exact) return { value: literal(exact[1]!.trim()) };
  throw bad(flag, text, `cannot read the expectation "${e}" (use rows N, rows >= N, >= N, or is VALUE)`);
}

function literal(v: string): string | number | boolean | null {
  if (/^'.*'$/.test(v) || /^".*"$/.test(v)) return v.slice(1, -1);
  if (v === 'true' || v === 'false') return v === 'true';
  if (v === 'null') return null;
  if (/^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  return v;
}

/** A JSON file holding an array of checks in the API's shape (validated with the workflow's schema later). */
export function readChecksFile(path: string): VerificationCheck[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new InvalidInputError(`--checks-file ${path}: ${err instanceof Error ? err.message : String(err)}`, 'checks');
  }
  if (!Array.isArray(parsed)) throw new InvalidInputError(`--checks-file ${path}: expected a JSON array`, 'checks');
  return parsed as VerificationCheck[];
}

/** The checks a command's flags describe, in order: files, --check, --tables-exist, --health-url. */
export function checksFromFlags(o: {
  check?: string[];
  checksFile?: string;
  tablesExist?: string;
  healthUrl?: string;
}): VerificationCheck[] {
  const checks: VerificationCheck[] = o.checksFile ? readChecksFile(o.checksFile) : [];
  for (const c of o.check ?? []) checks.push(parseCheck(c));
  if (o.tablesExist) checks.push({ kind: 'tablesExist', tables: o.tablesExist.split(',').map((t) => t.trim()) });
  if (o.healthUrl) checks.push({ kind: 'http', name: 'health', url: o.healthUrl });
  return checks;
}

const bad = (flag: string, text: string, why: string) =>
  new InvalidInputError(`${flag} "${text.slice(0, 80)}": ${why}`, flag.replace(/^--/, ''));
