/** How each verification check's result is judged (input schemas: src/shared/checks.ts). Pure, tested without a database. */
import type { Comparison, SqlCheck } from '../contract';

export { httpCheck, sqlCheck, tablesExistCheck, verificationCheck } from '../../shared/checks';

const SYMBOL: Record<Comparison, string> = { eq: '=', ne: '!=', gt: '>', gte: '>=', lt: '<', lte: '<=' };

export function compare(actual: number, op: Comparison, expected: number): boolean {
  switch (op) {
    case 'eq':
      return actual === expected;
    case 'ne':
      return actual !== expected;
    case 'gt':
      return actual > expected;
    case 'gte':
      return actual >= expected;
    case 'lt':
      return actual < expected;
    case 'lte':
      return actual <= expected;
  }
}

/** Database values in details are cut short: a check result should explain, not copy data into history. */
export function show(value: unknown): string {
  const text = typeof value === 'string' ? `'${value}'` : toText(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** Judges a SQL result against the check's expectations: null when it passes, else why not. */
export function judgeSql(
  expect: SqlCheck['expect'],
  rows: Record<string, unknown>[],
  firstColumn: string | undefined,
): string | null {
  const problems: string[] = [];
  const { rowCount, value, compare: comparison } = expect;
  if (typeof rowCount === 'number' && rows.length !== rowCount)
    problems.push(`expected ${rowCount} rows, got ${rows.length}`);
  if (typeof rowCount === 'object' && !compare(rows.length, rowCount.op, rowCount.value)) {
    problems.push(`expected row count ${SYMBOL[rowCount.op]} ${rowCount.value}, got ${rows.length}`);
  }
  if (value !== undefined || comparison) {
    const first = rows[0] && firstColumn !== undefined ? rows[0][firstColumn] : undefined;
    if (rows.length === 0) problems.push('expected a value, got no rows');
    else if (value !== undefined && !sameValue(first, value))
      problems.push(`expected value ${show(value)}, got ${show(first)}`);
    else if (comparison) {
      const actual =
        typeof first === 'number'
          ? first
          : typeof first === 'string' || typeof first === 'bigint'
            ? Number(first)
            : NaN;
      const { op, value: expected } = comparison;
      if (Number.isNaN(actual)) problems.push(`expected a number ${SYMBOL[op]} ${expected}, got ${show(first)}`);
      else if (!compare(actual, op, expected)) problems.push(`expected value ${SYMBOL[op]} ${expected}, got ${actual}`);
    }
  }
  return problems.length ? problems.join('; ') : null;
}

/** pg returns bigint and numeric as strings, dates as Date: compare loosely through strings when types differ. */
function sameValue(actual: unknown, expected: string | number | boolean | null): boolean {
  if (expected === null || actual === null || actual === undefined)
    return expected === null && (actual ?? null) === null;
  if (typeof actual === typeof expected) return actual === expected;
  if (actual instanceof Date) return actual.toISOString() === String(expected);
  return toText(actual) === String(expected);
}

function toText(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') return JSON.stringify(value);
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- objects were handled above
  return String(value);
}
