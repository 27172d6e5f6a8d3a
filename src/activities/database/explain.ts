import { z } from 'zod';
import { redact } from '../../shared/secrets';
import { openCheckSession } from './check-role';
import { verificationCheck } from './checks';
import { pgConnector } from './connect';
import type { ActivityDeps, DbSession } from '../deps';
import { activity } from '../failures';
import { neonId } from '../inputs';
import type { ExplainActivities, ExplainChecksResult } from '../contract';

const explainInput = z.object({
  projectId: neonId,
  branchId: neonId,
  endpointId: neonId.optional(),
  databaseName: z.string().min(1),
  roleName: z.string().min(1),
  checks: z.array(verificationCheck).max(200),
  statementTimeoutMs: z.number().int().min(100).max(60_000).optional(),
  /** The checks will run on this branch's schema (a promotion's candidate is dev's): what it lacks is a mistake. */
  refuseMissing: z.boolean().optional(),
});

/** A query begins with one of these (after comments and parentheses); anything else is a command, not a check. */
const QUERY_START = /^(select|with|values|table)\b/i;
/** Plan nodes that change data or lock rows: DML (also inside a CTE, MERGE) and SELECT ... FOR UPDATE/SHARE. */
const WRITING_NODES: Record<string, string> = { ModifyTable: 'it changes data', LockRows: 'it locks rows' };
/**
 * Errors that say the statement could not be planned because an object is missing on this branch: not a sign of
 * writing. Where the checks will run on another schema (a rollback's snapshot) they answer at verification; where they
 * run on this branch's (`refuseMissing`), the check can never pass, and is refused now (a typo in a table name).
 */
const MISSING_OBJECT = new Set(['42P01', '42703', '42883', '42704', '3F000']);

/** The statement without leading comments, whitespace and opening parentheses. */
function head(sql: string): string {
  let rest = sql;
  for (;;) {
    const next = rest.replace(/^(\s+|--[^\n]*(\n|$)|\/\*[\s\S]*?\*\/|\()/, '');
    if (next === rest) return rest;
    rest = next;
  }
}

/** Every node type in an EXPLAIN (FORMAT JSON) plan. */
function nodeTypes(plan: unknown, out: string[] = []): string[] {
  if (Array.isArray(plan)) for (const child of plan) nodeTypes(child, out);
  else if (plan && typeof plan === 'object') {
    const node = plan as Record<string, unknown>;
    if (typeof node['Node Type'] === 'string') out.push(node['Node Type']);
    for (const value of Object.values(node)) if (value && typeof value === 'object') nodeTypes(value, out);
  }
  return out;
}

/**
 * Why the statement is not a read-only query, or null when it is: its shape (one query, starting like a query; the
 * extended protocol refuses several statements), then Postgres's own plan of it, taken with EXPLAIN (never run) in a
 * read-only transaction with a statement timeout. `SELECT ... INTO` creates a table and is caught by its shape.
 */
async function whyNotReadOnly(
  session: DbSession,
  sql: string,
  timeoutMs: number,
  refuseMissing: boolean,
): Promise<string | null> {
  const start = head(sql);
  if (!QUERY_START.test(start)) return `it starts with "${start.split(/\s/)[0]?.slice(0, 30) ?? ''}", not a query`;
  await session.query('BEGIN TRANSACTION READ ONLY');
  try {
    await session.query(`SET LOCAL statement_timeout = ${Math.trunc(timeoutMs)}`);
    const res = await session.query(`EXPLAIN (FORMAT JSON, VERBOSE) ${sql}`);
    const plan: unknown = res.rows[0]?.['QUERY PLAN'];
    const writes = nodeTypes(typeof plan === 'string' ? JSON.parse(plan) : plan).find((t) => t in WRITING_NODES);
    if (writes) return `${WRITING_NODES[writes]}: its plan has a ${writes} node`;
    if (isSelectInto(start)) return 'SELECT ... INTO creates a table';
    return null;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && MISSING_OBJECT.has(code))
      return refuseMissing ? `it cannot be planned: ${err instanceof Error ? err.message : String(err)}` : null;
    if (typeof code === 'string' && /^(08|57)/.test(code)) return null;
    if (typeof code !== 'string') throw err; // not an answer from Postgres: the activity is retried
    return `EXPLAIN refused it: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    await session.query('ROLLBACK').catch(() => undefined);
    await session.query('DISCARD ALL').catch(() => undefined);
  }
}

/** `SELECT <list> INTO name FROM ...` at the top level (an INTO in a string or in parentheses is not it). */
function isSelectInto(sql: string): boolean {
  const outer = sql.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|\$([A-Za-z_]*)\$[\s\S]*?\$\1\$/g, "''");
  let depth = 0;
  for (const token of outer.split(/(\(|\)|\s+)/)) {
    if (token === '(') depth++;
    else if (token === ')') depth--;
    else if (depth === 0 && /^into$/i.test(token)) return true;
  }
  return false;
}

/**
 * Checks, before a workflow changes anything, that each SQL check is a read-only query: a check that writes
 * would otherwise be refused only at verification, after snapshots and restores. The connection string (it holds the
 * password) is fetched here and never leaves this function.
 */
export function explainActivities({ neon, db = pgConnector }: ActivityDeps) {
  return {
    explainChecks: activity(explainInput, async (input, call): Promise<ExplainChecksResult> => {
      const sqlChecks = input.checks.flatMap((check, index) =>
        check.kind === 'sql' ? [{ index, sql: check.sql }] : [],
      );
      if (sqlChecks.length === 0) return { refused: [] };
      const timeoutMs = input.statementTimeoutMs ?? 5_000;
      // As the role the checks will run as: what it may not read is refused now, not after snapshots and restores.
      const { session, secrets } = await openCheckSession(neon, db, input, call, timeoutMs);
      try {
        const refused: ExplainChecksResult['refused'] = [];
        for (const { index, sql } of sqlChecks) {
          const reason = await whyNotReadOnly(session, sql, timeoutMs, input.refuseMissing ?? false);
          if (reason) refused.push({ index, reason: redact(reason, secrets).slice(0, 300) });
        }
        return { refused };
      } finally {
        await session.close().catch(() => undefined);
      }
    }),
  } satisfies ExplainActivities;
}
