import { ApplicationFailure } from '@temporalio/common';
import pg from 'pg';
import type { CallOptions, NeonClient } from '../../neon';
import { redact } from '../../neon';
import { branchConnectionUri, type BranchDatabase } from '../db';
import { failure } from '../failures';
import { writeFailure } from './failures';
import type { WriteFailureType } from './types';

export type { BranchDatabase };

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

export function isTransient(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (TRANSIENT.test(code) || /^E[A-Z]+/.test(code));
}

export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Fetches the branch's connection string from Neon and connects; the string never leaves this function. */
export async function openBranch(
  neon: NeonClient,
  target: BranchDatabase,
  call: CallOptions,
  opts: { statementTimeoutMs?: number; lockTimeoutMs?: number } = {},
): Promise<BranchSession> {
  const uri = await branchConnectionUri(neon, target, call);
  const secrets = secretsOf(uri);
  const scrub = (m: string) => redact(m, secrets);
  const client = new pg.Client({
    connectionString: uri,
    connectionTimeoutMillis: 10_000,
    application_name: 'neon-promote',
    statement_timeout: opts.statementTimeoutMs ?? 60_000,
    lock_timeout: opts.lockTimeoutMs ?? 10_000,
  });
  // A restore or a fence drops connections; an 'error' event without a listener would crash the worker.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw failure('DatabaseUnreachable', `cannot connect to branch ${target.branchId}: ${scrub(messageOf(err))}`);
  }
  return {
    branchId: target.branchId,
    async query<R extends Record<string, unknown>>(sql: string, params?: unknown[]) {
      const res = params ? await client.query(sql, params) : await client.query(sql);
      // A multi-statement string gives one result per statement: the last one is what callers read.
      const last = Array.isArray(res) ? (res as pg.QueryResult[]).at(-1) : res;
      return (last?.rows ?? []) as R[];
    },
    scrub,
    close: () => client.end().catch(() => undefined),
  };
}

/** Runs `fn` with a session, closes it, and turns a dropped connection into a retryable DatabaseUnreachable. */
export async function withBranch<T>(
  neon: NeonClient,
  target: BranchDatabase,
  call: CallOptions,
  fn: (s: BranchSession) => Promise<T>,
  opts: { statementTimeoutMs?: number; lockTimeoutMs?: number; sqlFailure: WriteFailureType },
): Promise<T> {
  const s = await openBranch(neon, target, call, opts);
  try {
    return await fn(s);
  } catch (err) {
    const code = sqlState(err);
    if (isTransient(err))
      throw failure(
        'DatabaseUnreachable',
        `lost the connection to branch ${target.branchId}: ${s.scrub(messageOf(err))}`,
      );
    // Any other SQL error (permission, syntax, constraint) will not go away on retry: a plain Error would retry forever.
    if (code && !(err instanceof ApplicationFailure))
      throw writeFailure(opts.sqlFailure, `branch ${target.branchId}: ${s.scrub(messageOf(err))}`, { code });
    throw err;
  } finally {
    await s.close();
  }
}

/** The whole URI and its password (raw and decoded), so any echo of them in a driver message is scrubbed. */
function secretsOf(uri: string): string[] {
  const out = [uri];
  try {
    const password = new URL(uri).password;
    if (password) out.push(password, decodeURIComponent(password));
  } catch {
    // Not a URL: the whole string is still redacted.
  }
  return out;
}
