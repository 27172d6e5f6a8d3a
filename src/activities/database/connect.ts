import pg from 'pg';
import { request } from 'undici';
import type { CallOptions, NeonClient } from '../../neon';
import { outboundDispatcher } from '../notify/outbound';
import type { BranchDatabase } from '../contract';
import type { DbConnector, HttpGet } from '../deps';
import { currentContext } from '../failures';

/**
 * Opens a pg session. Read mode (verification, fingerprints, EXPLAIN): user SQL runs in the extended protocol
 * (`queryMode: 'extended'`), which refuses several statements in one string, so a check cannot slip a
 * "COMMIT; DELETE ..." past the read-only transaction it runs in; the statement timeout is the caller's to set, this
 * bounds each query client-side a little beyond it. Write mode (write safety, reconciliation, migrations): the
 * statement and lock timeouts are the session's settings, and SQL without parameters goes through the simple protocol
 * (a migration is several statements; the result is the last statement's).
 *
 * Both modes bound each query on the client too: the server's timeouts end a statement that runs long, not a query
 * whose answer never comes because the connection went silent (a network that drops packets). In write mode the bound
 * is the statement and lock timeouts and a margin, for the whole query string: a migration of several statements that
 * together run longer needs a longer statement timeout. A session opened inside an activity ends when the activity is
 * cancelled, failing the query in flight, so a cancelled attempt does not hold its connection until its timeouts.
 */
export const pgConnector: DbConnector = async (connectionString, options) => {
  const { statementTimeoutMs, lockTimeoutMs = 10_000, mode = 'read' } = options;
  const write = mode === 'write';
  const client = new pg.Client({
    connectionString,
    connectionTimeoutMillis: 10_000,
    keepAlive: true,
    ...(write
      ? {
          application_name: 'neon-promote',
          statement_timeout: statementTimeoutMs,
          lock_timeout: lockTimeoutMs,
          query_timeout: statementTimeoutMs + lockTimeoutMs + 5_000,
        }
      : { query_timeout: statementTimeoutMs + 5_000, application_name: 'neon-promote-verify' }),
  });
  // A restore or a fence drops connections; an 'error' event without a listener would crash the worker.
  client.on('error', () => undefined);
  let closing: Promise<void> | undefined;
  const cancelled = currentContext()?.cancellationSignal;
  const onCancel = () => void end();
  const end = () => {
    cancelled?.removeEventListener('abort', onCancel);
    return (closing ??= endWithin(client, 5_000));
  };
  cancelled?.addEventListener('abort', onCancel, { once: true });
  try {
    if (cancelled?.aborted) throw new Error('the activity was cancelled before its database session opened');
    await connectUnlessCancelled(client, cancelled);
  } catch (err) {
    await end();
    throw err;
  }
  return {
    async query(sql, params) {
      const res =
        write && !params
          ? await client.query(sql)
          : await client.query({ text: sql, values: params, queryMode: 'extended' } as pg.QueryConfig);
      // A multi-statement string (write mode) gives one result per statement: the last one is what callers read.
      const last = Array.isArray(res) ? (res as pg.QueryResult[]).at(-1) : res;
      const rows = (last?.rows ?? []) as Record<string, unknown>[];
      return { rows, rowCount: last?.rowCount ?? rows.length, fields: last?.fields ?? [] };
    },
    close: end,
  };
};

/**
 * Connects, or rejects with the cancellation. pg's `connect()` never settles when `end()` is called while it is still
 * connecting (the client takes the end as its own doing and reports nothing), so an activity cancelled then, as a
 * worker's shutdown cancels every running one, would wait forever and hold the worker's drain with it.
 */
function connectUnlessCancelled(client: pg.Client, cancelled: AbortSignal | undefined): Promise<void> {
  if (!cancelled) return client.connect().then(() => undefined);
  return new Promise<void>((resolve, reject) => {
    const onCancel = () => reject(cancelled.reason as Error);
    cancelled.addEventListener('abort', onCancel, { once: true });
    client
      .connect()
      .then(() => resolve(), reject)
      .finally(() => cancelled.removeEventListener('abort', onCancel));
  });
}

/** Ends a pg client; one whose server does not answer the goodbye within `ms` has its socket destroyed. */
async function endWithin(client: pg.Client, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const ended = client.end().then(
    () => true,
    () => true,
  );
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  if (!(await Promise.race([ended, late]))) client.connection.stream.destroy();
  clearTimeout(timer);
}

/**
 * The GET of `http` checks. Reads at most 64 KiB of the body: a health page, not a download. Only public addresses
 * unless `allowPrivateNetwork` (see ../notify/outbound.ts).
 */
export function httpGetter({ allowPrivateNetwork = false } = {}): HttpGet {
  const dispatcher = outboundDispatcher(allowPrivateNetwork);
  return async (url, { timeoutMs, signal }) => {
    const res = await request(url, {
      method: 'GET',
      dispatcher,
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
}

/** The default GET of `http` checks: public addresses only. */
export const undiciGet: HttpGet = httpGetter();

/** How long a fetched connection string is used again by this process's activities. */
export const CONNECTION_URI_REUSE_MS = 30_000;
const CONNECTION_URI_ENTRIES = 1_000;

type CachedUri = { uri: string; at: number };
/** Per Neon client (one per API key and base URL): project ID -> session target -> connection string. */
const connectionUris = new WeakMap<NeonClient, Map<string, Map<string, CachedUri>>>();

/**
 * The connection string of a branch's database. It holds a password: it must not leave the calling activity.
 *
 * A promotion opens several sessions on the same branch and endpoint within seconds (the write positions, the fence,
 * the write check; the candidate's checks and fingerprint; the lift and the checks after the swap), each in an
 * activity of its own, so the string is kept in this process's memory for CONNECTION_URI_REUSE_MS and used again,
 * one Neon call per session saved. Never in history or logs, as before. A retried attempt fetches it afresh (a session
 * that could not connect with it, e.g. after a password reset, is retried with Neon's current one), and mutations
 * that move or remove endpoints or reset a branch forget the project's strings (forgetConnectionUris).
 */
export async function branchConnectionUri(
  neon: NeonClient,
  database: BranchDatabase,
  call: CallOptions,
): Promise<string> {
  const { projectId, branchId, endpointId, databaseName, roleName } = database;
  const key = JSON.stringify([branchId, endpointId ?? null, databaseName, roleName]);
  let projects = connectionUris.get(neon);
  if (!projects) connectionUris.set(neon, (projects = new Map<string, Map<string, CachedUri>>()));
  const now = Date.now();
  const cached = projects.get(projectId)?.get(key);
  const retried = (currentContext()?.info.attempt ?? 1) > 1;
  if (cached && !retried && now - cached.at < CONNECTION_URI_REUSE_MS) return cached.uri;
  const uri = await neon.getConnectionUri(projectId, { branchId, endpointId, databaseName, roleName }, call);
  // Oldest project first out: a fleet's many projects do not make the map grow without bound.
  const targets = projects.get(projectId) ?? new Map<string, CachedUri>();
  projects.delete(projectId);
  for (const [k, entry] of targets) if (now - entry.at >= CONNECTION_URI_REUSE_MS) targets.delete(k);
  targets.set(key, { uri, at: now });
  projects.set(projectId, targets);
  while (projects.size > CONNECTION_URI_ENTRIES) projects.delete(projects.keys().next().value!);
  return uri;
}

/**
 * Forgets the project's connection strings kept by branchConnectionUri: after a finalize (prod's endpoint serves
 * another branch), a reset (roles may change), or a deleted endpoint or branch, a kept string could reach the wrong
 * branch or none.
 */
export function forgetConnectionUris(neon: NeonClient, projectId: string): void {
  connectionUris.get(neon)?.delete(projectId);
}
