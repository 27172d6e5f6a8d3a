import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type http from 'node:http';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DefaultOnFinalize, Env } from './env';
import { FaultEngine } from './faults';
import { apiKey as newApiKey } from './ids';
import { Operations } from './ops';
import { startEmbeddedCluster, type ClusterTarget, type EmbeddedCluster } from './pg/cluster';
import { DataPlane, type CopyReport } from './pg/data';
import { Namespace } from './pg/namespace';
import { changeLimits, limitsOf, type Limits, type Plan } from './plans';
import { PgProxy } from './proxy';
import { resolver } from './resolve';
import { projectRoutes } from './routes/projects';
import { branchRoutes } from './routes/branches';
import { snapshotRoutes } from './routes/snapshots';
import { miscRoutes } from './routes/misc';
import { createServer, RequestLog } from './server';
import { Store } from './store';
import { startSweeper, sweep } from './sweeper';
import type { FaultConfig, RequestLogEntry } from './types';

export type { FaultConfig, FaultRule, RequestLogEntry } from './types';
export { PLANS, type Limits, type Plan } from './plans';
export type { DefaultOnFinalize } from './env';
export type { CopyReport } from './pg/data';
export { seedProject, waitForOperations, type SeededProject } from './seed';

export type EmulatorOptions = {
  /** 0 = pick a free port (default 0). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Generated (and kept in the state) if absent. */
  apiKey?: string;
  /** Where state and the embedded Postgres cluster live; a fresh temp dir (removed on stop) if absent. */
  dataDir?: string;
  /** Use an existing Postgres server (a superuser URL) instead of starting an embedded one. */
  pgUrl?: string;
  /** 'memory' = control plane only, no Postgres (fleet-scale tests); default 'data'. */
  mode?: 'data' | 'memory';
  /** How long operations take from scheduling to finished; default 50-150 ms. */
  operationDelayMs?: number | { min: number; max: number };
  /** Neon plan whose per-project limits apply (tools/emulator/plans.ts); default 'scale'. */
  plan?: Plan;
  /** Manual snapshots per project, over the plan's (e.g. 10, the paid plans' limit in Neon's earlier docs). */
  snapshotQuota?: number;
  /** Root branches per project, over the plan's. */
  rootBranchLimit?: number;
  /**
   * Whether finalizing a snapshot restore moves the `default` flag to the restored branch ('moves', the default) or
   * leaves it on the branch it replaced ('stays'): Neon documents neither, so the product must be right under both.
   */
  defaultOnFinalize?: DefaultOnFinalize;
  /**
   * Whether finalizing a restore of the project's root branch passes the root to the restored branch ('moves', the
   * default: the replaced one can be deleted, as Neon's promotion guide does) or leaves the replaced one the root,
   * which cannot be deleted ('stays': the spec's "You cannot delete a project's root ... branch" read literally).
   */
  rootOnFinalize?: DefaultOnFinalize;
  /**
   * How long a branch made by a snapshot restore reads `restore_status: detaching` (Neon: a restored or finalized
   * branch "may begin detaching"), counted from the restore (when not finalized with it) and from the finalize.
   * Default: 0 after a restore, 1000 ms after a finalize.
   */
  detachingMs?: { afterRestore?: number; afterFinalize?: number };
  /** The most branches one page of the branch list holds whatever the request's limit; default 10 000 (the spec's max). */
  branchPageSize?: number;
  faults?: FaultConfig;
  /**
   * A copy (snapshot, child branch) parks its source's client sessions at their next transaction boundary; a session
   * still inside a transaction after this long is terminated instead. Default 1000 ms.
   */
  parkWaitMs?: number;
  log?: (line: string) => void;
};

export type Emulator = {
  /** What a Neon client gets as its base URL, e.g. http://127.0.0.1:PORT/api/v2. */
  baseUrl: string;
  /** Admin API (faults, request log and counts, reset), same Bearer key, e.g. http://127.0.0.1:PORT/admin. */
  adminUrl: string;
  apiKey: string;
  setFaults(f: FaultConfig): void;
  /** The plan's limits now; `setLimits` changes them (a plan, and overrides of its figures). */
  limits(): Limits;
  setLimits(change: { plan?: Plan; snapshotQuota?: number; rootBranchLimit?: number }): Limits;
  /** What finalizing a restore does with the `default` flag from now on (see EmulatorOptions.defaultOnFinalize). */
  setDefaultOnFinalize(rule: DefaultOnFinalize): void;
  /** What finalizing a restore of the project's root does with its root designation (see rootOnFinalize). */
  setRootOnFinalize(rule: DefaultOnFinalize): void;
  requestLog(): RequestLogEntry[];
  /** Requests per templated route, e.g. 'POST /projects/{project_id}/branches/{branch_id}/snapshot'. */
  requestCounts(): Record<string, number>;
  resetRequestLog(): void;
  /**
   * Moves the emulator's clock forward (ms) for the rules that open after a time window (reset from parent after a
   * snapshot restore); the host's clock, and with it expiries and timestamps, is not moved.
   */
  advanceClock(ms: number): void;
  /** What the last data copy (snapshot, branch, restore) cost its source's client sessions; undefined before one. */
  lastCopy(): CopyReport | undefined;
  /** Stops HTTP, the Postgres proxy and the embedded Postgres it started. */
  stop(): Promise<void>;
};

function delayFn(d: EmulatorOptions['operationDelayMs']): () => number {
  const { min, max } = typeof d === 'number' ? { min: d, max: d } : (d ?? { min: 50, max: 150 });
  return () => min + Math.random() * (max - min);
}

function targetFromUrl(url: string): ClusterTarget {
  const u = new URL(url);
  return {
    host: decodeURIComponent(u.hostname) || '127.0.0.1',
    port: Number(u.port || 5432),
    user: decodeURIComponent(u.username) || 'postgres',
    password: decodeURIComponent(u.password) || undefined,
    database: u.pathname.slice(1) || 'postgres',
  };
}

/** Starts a Neon API v2 emulator. See the issue for the behaviour it promises; the README in this folder for limits. */
export async function startEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
  const log = opts.log ?? (() => undefined);
  const host = opts.host ?? '127.0.0.1';
  const ownsDir = !opts.dataDir;
  const dataDir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), 'neon-emu-'));
  mkdirSync(dataDir, { recursive: true });
  // Memory mode without a data dir of the caller's keeps no state file: the temp dir goes on stop, so a file could not
  // survive the process anyway, and rewriting the whole state on every change costs O(projects) per mutation and per
  // operation step, which would bound a fleet of a thousand projects.
  const store = new Store(opts.mode === 'memory' && !opts.dataDir ? undefined : dataDir);
  const state = store.state;
  const apiKey = opts.apiKey ?? state.apiKey ?? newApiKey();
  state.apiKey = apiKey;
  state.secret ??= randomBytes(16).toString('hex');
  const proxyHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const views = { proxyHost, proxyPort: () => proxy?.port ?? 0 };
  let cluster: EmbeddedCluster | undefined;
  let proxy: PgProxy | undefined;
  let data: DataPlane | undefined;
  const env: Env = {
    store,
    ops: undefined as unknown as Operations,
    views,
    limits: limitsOf(opts.plan, opts),
    defaultOnFinalize: opts.defaultOnFinalize ?? 'moves',
    rootOnFinalize: opts.rootOnFinalize ?? 'moves',
    detaching: {
      afterRestoreMs: opts.detachingMs?.afterRestore ?? 0,
      afterFinalizeMs: opts.detachingMs?.afterFinalize ?? 1000,
    },
    branchPageSize: opts.branchPageSize ?? 10_000,
    clock: { offsetMs: 0 },
    log,
  };
  env.ops = new Operations(
    store,
    delayFn(opts.operationDelayMs),
    async (p) => {
      for (const e of p.endpoints) proxy?.dropEndpoint(e.id);
      await data?.gc(store.referencedDatabases());
    },
    log,
  );
  const cleanup: (() => Promise<void> | void)[] = [];
  try {
    if ((opts.mode ?? 'data') === 'data') {
      const target = opts.pgUrl
        ? targetFromUrl(opts.pgUrl)
        : (cluster = await startEmbeddedCluster(path.join(dataDir, 'cluster'), log));
      if (cluster) cleanup.push(() => cluster!.stop());
      // On a server of the caller's, other emulators (and other users) have objects too: touch only our own.
      const ns = new Namespace(state.namespace ?? '', !cluster);
      proxy = new PgProxy(target, (role) => data!.rolePassword(role), resolver(store), log, ns);
      data = new DataPlane(target, state.secret, (db) => proxy!.quiesce(db, opts.parkWaitMs ?? 1000), ns);
      if (!ns.garbagePrefix()) log('gc: off (a state from before instance tags, on a shared server)');
      cleanup.push(
        () => data!.close(),
        () => proxy!.close(),
      );
      // A temp data dir goes on stop, and with it the only record of what is ours on the caller's server.
      if (ownsDir && opts.pgUrl) cleanup.push(() => data!.dropNamespace());
      state.proxyPort = await proxy.listen(proxyHost, state.proxyPort ?? 0);
      const dropped = await data.gc(store.referencedDatabases());
      if (dropped.length) log(`gc: dropped ${dropped.length} orphaned database(s)`);
      env.data = data;
      env.proxy = proxy;
    }
    store.save();
    // Operations that were under way when a previous run died end now (their work was done before they were
    // recorded): finished, or failed and rolled back if they were due to fail.
    await env.ops.tick(Date.now(), true);
    env.ops.start();
    cleanup.push(() => env.ops.stop(), startSweeper(env, 200));
    const faults = new FaultEngine(opts.faults);
    const requests = new RequestLog();
    const routes = [...projectRoutes(env), ...branchRoutes(env), ...snapshotRoutes(env), ...miscRoutes(env)];
    const server = createServer({ env, apiKey, faults, requests, routes, sweep: async () => void (await sweep(env)) });
    const port = await listen(server, opts.port ?? 0, host);
    cleanup.push(() => closeServer(server));
    const origin = `http://${proxyHost}:${port}`;
    log(`neon-emulator: ${origin}/api/v2 (proxy ${proxyHost}:${proxy?.port ?? '-'}, data dir ${dataDir})`);
    let stopped: Promise<void> | undefined;
    return {
      baseUrl: `${origin}/api/v2`,
      adminUrl: `${origin}/admin`,
      apiKey,
      setFaults: (f) => faults.set(f),
      limits: () => ({ ...env.limits }),
      setLimits: (change) => (env.limits = changeLimits(env.limits, change)),
      setDefaultOnFinalize: (rule) => void (env.defaultOnFinalize = rule),
      setRootOnFinalize: (rule) => void (env.rootOnFinalize = rule),
      requestLog: () => [...requests.entries],
      requestCounts: () => ({ ...requests.counts }),
      resetRequestLog: () => requests.reset(),
      advanceClock: (ms) => void (env.clock.offsetMs += ms),
      lastCopy: () => data?.lastCopy,
      stop: () => (stopped ??= runCleanup(cleanup, ownsDir ? dataDir : undefined)),
    };
  } catch (err) {
    await runCleanup(cleanup, ownsDir ? dataDir : undefined);
    throw err;
  }
}

async function runCleanup(steps: (() => Promise<void> | void)[], removeDir?: string): Promise<void> {
  for (const step of steps.reverse()) await Promise.resolve(step()).catch(() => undefined);
  if (removeDir) rmSync(removeDir, { recursive: true, force: true });
}

function listen(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as net.AddressInfo).port));
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
