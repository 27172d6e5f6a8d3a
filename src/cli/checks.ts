import { readFileSync } from 'node:fs';
import type { Comparison, SqlCheck, VerificationCheck } from '../activities/contract';
import { InvalidInputError } from '../client/input-errors';

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

function parseExpect(expectText: string, flag: string, text: string): SqlCheck['expect'] {
  const rows = /^rows\s*(=|==|!=|>=|<=|>|<)?\s*(-?\d+)$/.exec(expectText);
  if (rows) {
    const value = Number(rows[2]);
    return rows[1] && rows[1] !== '=' && rows[1] !== '=='
      ? { rowCount: { op: OPS[rows[1]]!, value } }
      : { rowCount: value };
  }
  const comparison = /^(=|==|!=|>=|<=|>|<)\s*(-?\d+(\.\d+)?)$/.exec(expectText);
  if (comparison) return { compare: { op: OPS[comparison[1]!]!, value: Number(comparison[2]) } };
  const exact = /^is\s+(.+)$/.exec(expectText);
  if (exact) return { value: literal(exact[1]!.trim()) };
  throw bad(flag, text, `cannot read the expectation "${expectText}" (use rows N, rows >= N, >= N, or is VALUE)`);
}

function literal(text: string): string | number | boolean | null {
  if (/^'.*'$/.test(text) || /^".*"$/.test(text)) return text.slice(1, -1);
  if (text === 'true' || text === 'false') return text === 'true';
  if (text === 'null') return null;
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  return text;
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
export function checksFromFlags(flags: {
  check?: string[];
  checksFile?: string;
  tablesExist?: string;
  healthUrl?: string;
}): VerificationCheck[] {
  const checks: VerificationCheck[] = flags.checksFile ? readChecksFile(flags.checksFile) : [];
  for (const check of flags.check ?? []) checks.push(parseCheck(check));
  if (flags.tablesExist)
    checks.push({ kind: 'tablesExist', tables: flags.tablesExist.split(',').map((table) => table.trim()) });
  if (flags.healthUrl) checks.push({ kind: 'http', name: 'health', url: flags.healthUrl });
  return checks;
}

const bad = (flag: string, text: string, why: string) =>
  new InvalidInputError(`${flag} "${text.slice(0, 80)}": ${why}`, flag.replace(/^--/, ''));
