/**
 * Shared by the reliability suite: the invariants every run is held to (outcome, prod's data, nothing created twice,
 * nothing left beyond retention), the results table, and crash workers whose logs the secrets scan reads.
 */
import { appendFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Agent, type Dispatcher } from 'undici';
import type { Emulator, RequestLogEntry } from '../../tools/emulator';
import { type CrashWorker, type CrashWorkerOptions, startCrashWorker } from './crash-worker';
import { inventory, type Inventory, uriOf } from './emulator-api';
import { seedProd } from './workflow-stack';

/** RELIABILITY_FULL=1: the whole suite (npm run test:reliability); otherwise the fast subset that npm test runs. */
export const FULL = process.env.RELIABILITY_FULL === '1';

/**
 * One directory per jest run (keyed by its dev server) for result rows and worker logs, read by the report.
 * RELIABILITY_RUN_DIR names another run's directory, so that a file run again on its own (one that timed out on a
 * loaded machine) adds its rows to that run's report.
 */
export const runDir = (() => {
  const key = (process.env.TEMPORAL_TEST_ADDRESS ?? 'none').replace(/[^A-Za-z0-9]+/g, '-');
  const dir = process.env.RELIABILITY_RUN_DIR || join(tmpdir(), 'neon-promote-reliability', key);
  mkdirSync(join(dir, 'logs'), { recursive: true });
  return dir;
})();

export type ResultRow = { section: string; tried: string; count: number; held: string; ok: boolean };

/** Appends a row to this test file's results (the report test prints and, on a full run, commits them). */
export function record(testFile: string, row: ResultRow): void {
  appendFileSync(join(runDir, `${basename(testFile)}.results.jsonl`), `${JSON.stringify(row)}\n`);
}

export function readRows(): ResultRow[] {
  return readdirSync(runDir)
    .filter((f) => f.endsWith('.results.jsonl'))
    .sort()
    .flatMap((f) =>
      readFileSync(join(runDir, f), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as ResultRow),
    );
}

let workerSeq = 0;

/** A crash worker whose JSON log lands in this run's log folder, where the secrets scan reads it. */
export function startWorker(options: Omit<CrashWorkerOptions, 'logFile'>): Promise<CrashWorker> {
  return startCrashWorker({ ...options, logFile: join(runDir, 'logs', `worker-${process.pid}-${++workerSeq}.log`) });
}

/**
 * Activity boundaries "type#n@k" in the order a run reported them (its reference run, without kills), of the workflow
 * types given, or of any.
 */
export const startedPoints = (lines: string[], ofWorkflows?: string[]): string[] =>
  lines
    .filter((l) => l.startsWith('START '))
    .map((l) => l.slice(6).split(' '))
    .filter(([, type]) => !ofWorkflows || ofWorkflows.includes(type!))
    .map(([point]) => point!);

/**
 * Runs `fn`; if it throws, first records `row` as NOT HELD with what failed, so the table shows every section tried,
 * not only those that held.
 */
export async function section<T>(
  testFile: string,
  row: Omit<ResultRow, 'held' | 'ok' | 'count'>,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    // Jest's matcher messages carry ANSI colours.
    const what = (err instanceof Error ? err.message : String(err))
      .replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '')
      .replace(/\s+/g, ' ');
    record(testFile, { ...row, count: 0, held: `FAILED: ${what.slice(0, 300)}`, ok: false });
    throw err;
  }
}

/** One "project ... rolled back after a failed operation" line of the emulator's log, and when it came. */
export type Rollback = { projectId: string; t: number };

/** An emulator `log` option that notes every rollback after a failed operation (fault `fail_operation`). */
export function rollbackWatcher(): { log: (line: string) => void; rollbacks: Rollback[] } {
  const rollbacks: Rollback[] = [];
  return {
    rollbacks,
    log: (line) => {
      const m = /project (\S+) rolled back after a failed operation/.exec(line);
      if (m) rollbacks.push({ projectId: m[1]!, t: Date.now() });
    },
  };
}

/**
 * The requests whose work the emulator undid. A project runs one mutation at a time and stays locked until that
 * mutation's operations end, and a failed one puts the project back as it was before the mutation: so each rollback
 * undid the project's last mutation logged before it. (A 204 is a DELETE of something already gone, no mutation.)
 */
export function undoneBy(log: RequestLogEntry[], rollbacks: Rollback[]): Set<RequestLogEntry> {
  const out = new Set<RequestLogEntry>();
  for (const r of rollbacks) {
    const last = [...log]
      .reverse()
      .find(
        (e) =>
          e.method !== 'GET' &&
          e.path.includes(`/projects/${r.projectId}/`) &&
          Date.parse(e.at) <= r.t &&
          (e.status === 0 || (e.status >= 200 && e.status < 300 && e.status !== 204)),
      );
    if (last) out.add(last);
  }
  return out;
}

const isCreation = (e: RequestLogEntry, projectId: string) =>
  e.method === 'POST' && e.path.includes(`/projects/${projectId}/`);
const tookEffect = (e: RequestLogEntry) => e.status === 0 || (e.status >= 200 && e.status < 300);

/**
 * Resources created per route for one project, which "created twice" is about: creations that took effect (a 2xx, or
 * a response lost after the work was done) and stayed (not undone by a failed operation). A POST that Neon refused (a
 * second read-write endpoint on a branch, say) created nothing and is not counted here; see `creationCalls`.
 */
export function creations(
  log: RequestLogEntry[],
  projectId: string,
  undone: Set<RequestLogEntry> = new Set(),
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of log) {
    if (!isCreation(e, projectId) || !tookEffect(e) || undone.has(e)) continue;
    out[e.route] = (out[e.route] ?? 0) + 1;
  }
  return out;
}

/** Creation calls, not resources: those that took effect, those of them undone by a failed operation, and refusals. */
export function creationCalls(
  log: RequestLogEntry[],
  projectId: string,
  undone: Set<RequestLogEntry>,
): { tookEffect: number; undone: number; refused: number } {
  const calls = log.filter((e) => isCreation(e, projectId));
  return {
    tookEffect: calls.filter(tookEffect).length,
    undone: calls.filter((e) => tookEffect(e) && undone.has(e)).length,
    refused: calls.filter((e) => e.status >= 400 && e.status < 500 && ![423, 429].includes(e.status)).length,
  };
}

export const mutatingCalls = (log: RequestLogEntry[], projectId?: string): RequestLogEntry[] =>
  log.filter((e) => e.method !== 'GET' && (!projectId || e.path.includes(`/projects/${projectId}`)));

/** What is left at Neon, with run-specific parts of our names dropped: comparable across projects and runs. */
export async function shape(emu: Emulator, projectId: string): Promise<{ branches: string[]; snapshots: string[] }> {
  const inv: Inventory = await inventory(emu, projectId);
  const norm = (n: string) => (n.startsWith('np-') ? (n.split('-').slice(0, 2).join('-') ?? n) : n);
  return {
    branches: inv.branches.map((b) => norm(b.name)).sort(),
    snapshots: inv.snapshots.map((x) => norm(x.name)).sort(),
  };
}

/** Max requests in any sliding window, overall and per route (the client's rate budget is judged on this). */
export function peakRates(log: RequestLogEntry[]): { perMinute: number; perRouteSecond: number; route: string } {
  const times = log.map((e) => ({ t: Date.parse(e.at), route: e.route })).sort((a, b) => a.t - b.t);
  const peak = (xs: number[], windowMs: number) => {
    let best = 0;
    for (let i = 0, j = 0; i < xs.length; i++) {
      while (xs[i]! - xs[j]! >= windowMs) j++;
      best = Math.max(best, i - j + 1);
    }
    return best;
  };
  const byRoute = new Map<string, number[]>();
  for (const x of times) byRoute.set(x.route, [...(byRoute.get(x.route) ?? []), x.t]);
  let perRouteSecond = 0;
  let route = '-';
  for (const [r, xs] of byRoute) {
    const p = peak(xs, 1000);
    if (p > perRouteSecond) [perRouteSecond, route] = [p, r];
  }
  return {
    perMinute: peak(
      times.map((x) => x.t),
      60_000,
    ),
    perRouteSecond,
    route,
  };
}

/** Runs `fn` over `items` with at most `n` at a time. */
export async function pool<T, R>(items: T[], n: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

export type Send = { method: string; path: string; t: number };

/** An undici Agent that records when each request was sent: the rate budget is about sends, not completions. */
export class TapAgent extends Agent {
  readonly sends: Send[] = [];
  override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    this.sends.push({ method: opts.method, path: String(opts.path).split('?')[0]!, t: Date.now() });
    return super.dispatch(opts, handler);
  }
}

/** Sends as request-log entries (templated route from the emulator's log of the same path), for peakRates. */
export function sendsAsLog(sends: Send[], log: RequestLogEntry[]): RequestLogEntry[] {
  const routes = new Map(log.map((e) => [`${e.method} ${e.path}`, e.route]));
  return sends.map((x) => ({
    method: x.method,
    path: x.path,
    route: routes.get(`${x.method} ${x.path}`) ?? `${x.method} ${x.path}`,
    status: 0,
    at: new Date(x.t).toISOString(),
    requestId: '',
  }));
}

/** Notes this emulator's API key and database password (in the run's temp dir) for the secrets scan at the end. */
export async function noteSecrets(emu: Emulator): Promise<void> {
  const p = await seedProd(emu, 1);
  const password = decodeURIComponent(new URL(await uriOf(emu, p, 'prod')).password);
  appendFileSync(join(runDir, 'secrets.txt'), `${emu.apiKey}\n${password}\n`);
}

export const notedSecrets = (): string[] => {
  try {
    return readFileSync(join(runDir, 'secrets.txt'), 'utf8')
      .split('\n')
      .filter((x) => x.length >= 8);
  } catch {
    return [];
  }
};
