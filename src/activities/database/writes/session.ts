import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { CallOptions } from '../../../neon';
import { connectionSecrets, redact } from '../../../shared/secrets';
import type { BranchDatabase, WriteFailureType } from '../../contract';
import { branchConnectionUri, pgConnector } from '../connect';
import type { ActivityDeps, DbSession } from '../../deps';
import { failure } from '../../failures';
import { writeFailure } from './failures';

/** What a write session needs: Neon for the connection string, and the worker's injected connector (pg by default). */
export type SessionDeps = Pick<ActivityDeps, 'neon' | 'db'>;

/**
 * A pg session on one branch that the activity opened itself. The connection string (it holds the password) lives
 * only inside `openBranch`; every driver message that leaves through `fail` is scrubbed of it first.
 */
export type BranchSession = {
  branchId: string;
  /** Simple protocol without params (several statements allowed, as migrations need); extended with params. */
  query<R extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  /** A driver message without the connection string or password in it. */
  scrub(message: string): string;
  close(): Promise<void>;
};

/** SQLSTATE classes of a dropped or refused connection, and socket errors: a retry can help. */
const TRANSIENT = /^(08|57P0|53300)/;

/** pg's own bound on a query (query_timeout, see ../connect.ts): the connection went silent. */
const CLIENT_TIMEOUT = 'Query read timeout';

export function isTransient(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') return err instanceof Error && err.message === CLIENT_TIMEOUT;
  return TRANSIENT.test(code) || /^E[A-Z]+/.test(code);
}

/**
 * The SQLSTATE of a Postgres error (five digits or capitals), else undefined: other errors that carry a `code` (a Neon
 * API error met while opening a nested session, a socket error) are not SQL errors and keep their own retry rules.
 */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Fetches the branch's connection string from Neon and connects through the injected connector (`deps.db`, pg by
 * default) in write mode; the string never leaves this function.
 */
export async function openBranch(
  deps: SessionDeps,
  target: BranchDatabase,
  call: CallOptions,
  options: { statementTimeoutMs?: number; lockTimeoutMs?: number } = {},
): Promise<BranchSession> {
  const { neon, db = pgConnector } = deps;
  const uri = await branchConnectionUri(neon, target, call);
  const secrets = connectionSecrets(uri);
  const scrub = (message: string) => redact(message, secrets);
  let session: DbSession;
  try {
    session = await db(uri, {
      mode: 'write',
      statementTimeoutMs: options.statementTimeoutMs ?? 60_000,
      lockTimeoutMs: options.lockTimeoutMs ?? 10_000,
    });
  } catch (err) {
    if (call.signal?.aborted && call.signal.reason instanceof CancelledFailure) throw call.signal.reason;
    throw failure('DatabaseUnreachable', `cannot connect to branch ${target.branchId}: ${scrub(messageOf(err))}`);
  }
  return {
    branchId: target.branchId,
    async query<R extends Record<string, unknown>>(sql: string, params?: unknown[]) {
      return (await session.query(sql, params)).rows as R[];
    },
    scrub,
    close: () => session.close().catch(() => undefined),
  };
}

/** Runs `fn` with a session, closes it, and turns a dropped connection into a retryable DatabaseUnreachable. */
export async function withBranch<T>(
  deps: SessionDeps,
  target: BranchDatabase,
  call: CallOptions,
  fn: (session: BranchSession) => Promise<T>,
  options: { statementTimeoutMs?: number; lockTimeoutMs?: number; sqlFailure: WriteFailureType },
): Promise<T> {
  const session = await openBranch(deps, target, call, options);
  try {
    return await fn(session);
  } catch (err) {
    // Cancelled: the connector ended the session, which failed the query in flight; the cancellation is the outcome.
    if (call.signal?.aborted && call.signal.reason instanceof CancelledFailure) throw call.signal.reason;
    const code = sqlState(err);
    if (isTransient(err))
      throw failure(
        'DatabaseUnreachable',
        `lost the connection to branch ${target.branchId}: ${session.scrub(messageOf(err))}`,
      );
    // Any other SQL error (permission, syntax, constraint) will not go away on retry: a plain Error would retry forever.
    if (code && !(err instanceof ApplicationFailure))
      throw writeFailure(options.sqlFailure, `branch ${target.branchId}: ${session.scrub(messageOf(err))}`, { code });
    throw err;
  } finally {
    await session.close();
  }
}
