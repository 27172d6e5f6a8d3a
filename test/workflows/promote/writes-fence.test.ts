/**
 * Issue 7: the write fence is always lifted: after a failed verification (prod rolled back to a snapshot taken under
 * the fence), after a cancellation while it was up, and after the worker was SIGKILLed while it was up.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { SeededProject } from '../../../tools/emulator';
import type { VerificationCheck } from '../../../src/activities/types';
import { branchId, sql, startStack, uriOf, type Stack } from '../../support/workflow-stack';
import { projectWithWrites } from '../../support/prod-writes';

let s: Stack;
let dir: string;
beforeAll(async () => {
  s = await startStack(__filename);
  dir = mkdtempSync(join(tmpdir(), 'np-fence-'));
  writeFileSync(join(dir, 'bundle.js'), s.bundle.code);
});
afterAll(async () => s?.stop());

/** A worker process that hangs (and is then SIGKILLed) at `killPoint`, as in crash.test.ts. */
async function workerProcess(killPoint: string): Promise<{ proc: ChildProcess; hung: Promise<void> }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', require.resolve('../../support/crash-worker-process.ts')], {
    env: {
      ...process.env,
      TASK_QUEUE: s.t.taskQueue,
      BUNDLE_PATH: join(dir, 'bundle.js'),
      NEON_API_BASE_URL: s.emu.baseUrl,
      NEON_API_KEY: s.emu.apiKey,
      COUNT_FILE: join(dir, `count-${Date.now()}`),
      KILL_POINT: killPoint,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: proc.stdout });
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  const hung = new Promise<void>((resolve, reject) => {
    lines.on('line', (l) => (l === 'READY' ? ready() : l.startsWith('KILLPOINT') ? resolve() : undefined));
    proc.on('exit', () => reject(new Error(`worker exited before ${killPoint}`)));
  });
  hung.catch(() => undefined);
  await isReady;
  return { proc, hung };
}

const sigkill = (proc: ChildProcess) =>
  new Promise<void>((resolve) => {
    proc.removeAllListeners('exit');
    proc.on('exit', () => resolve());
    proc.kill('SIGKILL');
  });

/** Whether prod (through its unchanged connection string) takes a write. */
async function prodTakesWrites(p: SeededProject): Promise<boolean> {
  try {
    await sql(p.connectionUri, `INSERT INTO writes (id, note) VALUES (${Math.floor(Math.random() * 1e9)}, 'probe')`);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === '25006') return false;
    throw err;
  }
}

/** Fails on prod after the swap only: dev's rows are marked 'dev'. */
const NOT_DEV: VerificationCheck = {
  kind: 'sql',
  name: 'no dev rows',
  sql: `SELECT count(*)::int FROM items WHERE source = 'dev'`,
  expect: { value: 0 },
};

async function devChanged(): Promise<SeededProject> {
  const p = await projectWithWrites(s);
  await sql(await uriOf(s.emu, p, 'dev'), `UPDATE items SET source = 'dev'`);
  return p;
}

test('a failed verification after the swap: prod is rolled back to the fenced snapshot and takes writes', async () => {
  const p = await devChanged();
  const worker = await s.worker();
  const r = await worker.runUntil(async () =>
    (await s.client.startPromotion({ projectId: p.projectId, postSwapChecks: [NOT_DEV] })).result(),
  );
  expect(r.outcome).toBe('rolled_back');
  expect(r.writes!.fence!.fencedAt).not.toBeNull();
  expect(await prodTakesWrites(p)).toBe(true);
}, 120_000);

test('cancelled while the fence is up, its worker SIGKILLed there: a new worker lifts it; prod untouched', async () => {
  const p = await devChanged();
  // ensureSnapshot#1 is dev's (the candidate); #2 is the rollback snapshot, taken under the fence.
  const w = await workerProcess('ensureSnapshot#2:before');
  const run = await s.client.startPromotion({ projectId: p.projectId });
  await w.hung;
  expect(await prodTakesWrites(p)).toBe(false); // the fence is up
  await sigkill(w.proc);
  await run.handle.cancel();
  const worker = await s.worker();
  const err = await worker.runUntil(run.result().catch((e: unknown) => e));
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
  expect(await prodTakesWrites(p)).toBe(true);
  expect(await branchId(s.emu, p.projectId, 'prod')).toBe(p.branchId);
}, 120_000);

test('a worker SIGKILLed right after raising the fence: the run goes on, fails its check, and prod takes writes', async () => {
  const p = await devChanged();
  const w = await workerProcess('fenceWrites#1');
  const run = await s.client.startPromotion({ projectId: p.projectId, postSwapChecks: [NOT_DEV] });
  await w.hung;
  expect(await prodTakesWrites(p)).toBe(false);
  await sigkill(w.proc);
  const worker = await s.worker();
  const r = await worker.runUntil(run.result());
  expect(r.outcome).toBe('rolled_back');
  expect(await prodTakesWrites(p)).toBe(true);
}, 120_000);
