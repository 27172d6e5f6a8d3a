import pg from 'pg';
import { request } from 'undici';
import type { CallOptions, NeonClient } from '../neon';
import type { DbConnector, HttpGet } from './deps';

/**
 * Opens a pg session for verification. User SQL runs in the extended protocol (`queryMode: 'extended'`), which
 * refuses several statements in one string, so a check cannot slip a "COMMIT; DELETE ..." past the read-only
 * transaction it runs in.
 */
export const pgConnector: DbConnector = async (connectionString, { statementTimeoutMs }) => {
  const client = new pg.Client({
    connectionString,
    connectionTimeoutMillis: 10_000,
    query_timeout: statementTimeoutMs + 5_000,
    application_name: 'neon-promote-verify',
  });
  // A restore drops connections; an 'error' event without a listener would crash the worker.
  client.on('error', () => undefined);
  await client.connect();
  return {
    async query(sql, params) {
      const res = await client.query({ text: sql, values: params, queryMode: 'extended' } as pg.QueryConfig);
      return {
        rows: res.rows as Record<string, unknown>[],
        rowCount: res.rowCount ?? res.rows.length,
        fields: res.fields,
      };
    },
    close: () => client.end(),
  };
};

/** Reads at most 64 KiB of the body: a health page, not a download. */
export const undiciGet: HttpGet = async (url, { timeoutMs, signal }) => {
  const res = await request(url, {
    method: 'GET',
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
  });
  let body = '';
  for await (const chunk of res.body) {
    body += (chunk as Buffer).toString('utf8');
    if (body.length >= 65_536) {
      res.body.destroy();
      break;
    }
  }
  return { status: res.statusCode, body };
};

/** A branch's database as one role, through the branch's (or the given) endpoint. */
export type BranchDatabase = {
  projectId: string;
  branchId: string;
  endpointId?: string;
  databaseName: string;
  roleName: string;
};

/** The connection string of a branch's database. It holds a password: it must not leave the calling activity. */
export function branchConnectionUri(neon: NeonClient, t: BranchDatabase, call: CallOptions): Promise<string> {
  const { branchId, endpointId, databaseName, roleName } = t;
  return neon.getConnectionUri(t.projectId, { branchId, endpointId, databaseName, roleName }, call);
}
