import type { NeonClient } from '../neon';

/** Time, injectable so polling and timeouts can be tested without waiting. */
export type Clock = { now(): number; sleep(ms: number, signal?: AbortSignal): Promise<void> };

/** A database session: read-only for verification, or a write session (write safety, migrations); `pg` by default. */
export type DbSession = {
  query(
    sql: string,
    params?: unknown[],
  ): Promise<{ rows: Record<string, unknown>[]; rowCount: number; fields: { name: string }[] }>;
  close(): Promise<void>;
};

/**
 * Opens a session with the connection string the activity fetched; the string must not outlive the call. `mode`
 * 'write' (the write activities) sets the statement and lock timeouts on the session and lets SQL without parameters
 * hold several statements; 'read' (default) runs every query in the extended protocol.
 */
export type DbConnector = (
  connectionString: string,
  options: { statementTimeoutMs: number; lockTimeoutMs?: number; mode?: 'read' | 'write' },
) => Promise<DbSession>;

/** An HTTP GET for health checks; undici by default. */
export type HttpGet = (
  url: string,
  options: { timeoutMs: number; signal?: AbortSignal },
) => Promise<{ status: number; body: string }>;

/** What the activities need from the outside world; tests pass fakes or real ones (emulator, local Postgres). */
export type ActivityDeps = {
  neon: NeonClient;
  clock?: Clock;
  db?: DbConnector;
  httpGet?: HttpGet;
  /**
   * The plan's limit of manual snapshots per project (Neon does not report it): 1 on Free, 100 on paid plans (10 in
   * Neon's earlier docs). Default 10; null: unknown.
   */
  snapshotLimit?: number | null;
  /** The plan's limit of root branches per project (Neon does not report it): 3 Free, 5 Launch, 25 Scale. Default null: unknown. */
  rootBranchLimit?: number | null;
};

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason as Error);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason as Error);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};
