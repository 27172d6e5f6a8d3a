import { z } from 'zod';
import { MAX_CHECKS_PER_VERIFICATION } from '../../shared/checks';
import { redact } from '../../shared/secrets';
import { openCheckSession } from './check-role';
import { verificationCheck, judgeSql } from './checks';
import { pgConnector, undiciGet } from './connect';
import type { ActivityDeps, DbSession } from '../deps';
import { activity, currentContext, failure } from '../failures';
import { fingerprintOf } from './fingerprint';
import { neonId } from '../inputs';
import type {
  CheckResult,
  HttpCheck,
  SqlCheck,
  TablesExistCheck,
  VerificationActivities,
  VerifyBranchResult,
} from '../contract';

const verifyInput = z.object({
  projectId: neonId,
  branchId: neonId,
  endpointId: neonId.optional(),
  databaseName: z.string().min(1),
  roleName: z.string().min(1),
  checks: z.array(verificationCheck).min(1).max(MAX_CHECKS_PER_VERIFICATION),
  statementTimeoutMs: z.number().int().min(100).max(300_000).optional(),
  throwOnFailure: z.boolean().optional(),
  fingerprint: z.boolean().optional(),
});

/** SQLSTATE classes of a dropped or refused connection (a restore drops them for up to a second): worth a retry. */
const TRANSIENT = /^(08|57P0)/;

function isTransient(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (TRANSIENT.test(code) || /^E[A-Z]+/.test(code));
}

/**
 * Verifies a branch with the caller's checks, run as the read-only role of ./check-role.ts. The connection strings
 * (they hold passwords) are made here and never leave this function: not in the result, not in a failure, not in a log
 * line.
 */
export function verifyActivities({ neon, db = pgConnector, httpGet = undiciGet }: ActivityDeps) {
  return {
    verifyBranch: activity(verifyInput, async (input, call): Promise<VerifyBranchResult> => {
      const started = Date.now();
      const statementTimeoutMs = input.statementTimeoutMs ?? 10_000;
      const needsDb = input.checks.some((check) => check.kind !== 'http');
      let secrets: string[] = [];
      let session: DbSession | undefined;
      const results: CheckResult[] = [];
      try {
        if (needsDb) ({ session, secrets } = await openCheckSession(neon, db, input, call, statementTimeoutMs));
        for (const [i, check] of input.checks.entries()) {
          const name = check.name ?? `${check.kind}#${i + 1}`;
          let detail: string | null;
          try {
            if (check.kind === 'sql') detail = await runSql(session!, check, statementTimeoutMs);
            else if (check.kind === 'tablesExist') detail = await runTables(session!, check, statementTimeoutMs);
            else detail = await runHttp(httpGet, check, call.signal);
          } catch (err) {
            if (check.kind !== 'http' && isTransient(err)) {
              throw failure(
                'DatabaseUnreachable',
                `lost the connection to branch ${input.branchId} during check "${name}": ${redact(messageOf(err), secrets)}`,
              );
            }
            detail = `error: ${redact(messageOf(err), secrets)}`;
          }
          results.push({ name, kind: check.kind, ok: detail === null, detail: detail ?? 'ok' });
        }
      } finally {
        await session?.close().catch(() => undefined);
      }
      const failed = results.find((result) => !result.ok);
      const result = {
        ok: !failed,
        checks: results,
        failedCheck: failed?.name ?? null,
        durationMs: Date.now() - started,
      };
      if (failed && input.throwOnFailure) {
        throw failure('VerificationFailed', `check "${failed.name}" failed: ${failed.detail}`, {
          verification: result,
        });
      }
      if (!input.fingerprint || failed) return result;
      const { projectId, branchId, endpointId, databaseName, roleName } = input;
      const target = { projectId, branchId, endpointId, databaseName, roleName, schemas: ['public'] };
      const fingerprint = await fingerprintOf({ neon, db }, target, call).catch((err: unknown) => {
        if (call.signal?.aborted) throw err;
        currentContext()?.log.warn('no data fingerprint recorded', { branchId, error: String(err) });
        return null;
      });
      return { ...result, fingerprint };
    }),
  } satisfies Partial<VerificationActivities>;
}

/**
 * Each check in its own read-only transaction with a statement timeout, so one failure cannot poison the next. After
 * it, DISCARD ALL drops what a check may have left on the session for the next one or for the rest of the
 * verification: settings it set with set_config, advisory locks it took (others may wait on them), LISTENs.
 */
async function readOnly<T>(session: DbSession, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  await session.query('BEGIN TRANSACTION READ ONLY');
  try {
    await session.query(`SET LOCAL statement_timeout = ${Math.trunc(timeoutMs)}`);
    return await fn();
  } finally {
    await session.query('ROLLBACK').catch(() => undefined);
    await session.query('DISCARD ALL').catch(() => undefined);
  }
}

async function runSql(session: DbSession, check: SqlCheck, timeoutMs: number): Promise<string | null> {
  const res = await readOnly(session, timeoutMs, () => session.query(check.sql));
  return judgeSql(check.expect, res.rows, res.fields[0]?.name);
}

async function runTables(session: DbSession, check: TablesExistCheck, timeoutMs: number): Promise<string | null> {
  const res = await readOnly(session, timeoutMs, () =>
    session.query('SELECT t AS name, to_regclass(t) IS NOT NULL AS present FROM unnest($1::text[]) AS t', [
      check.tables,
    ]),
  );
  const missing = res.rows.filter((row) => row.present !== true).map((row) => String(row.name));
  return missing.length ? `missing tables: ${missing.join(', ')}` : null;
}

async function runHttp(
  httpGet: NonNullable<ActivityDeps['httpGet']>,
  check: HttpCheck,
  signal?: AbortSignal,
): Promise<string | null> {
  const res = await httpGet(check.url, { timeoutMs: check.timeoutMs ?? 5_000, signal });
  const statusOk =
    check.expectStatus !== undefined ? res.status === check.expectStatus : res.status >= 200 && res.status < 300;
  if (!statusOk) return `GET ${check.url} answered ${res.status}, expected ${check.expectStatus ?? '2xx'}`;
  if (check.bodyIncludes && !res.body.includes(check.bodyIncludes))
    return `GET ${check.url} body does not include the expected text`;
  return null;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
