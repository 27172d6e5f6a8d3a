/**
 * The write fence is always lifted: after a failed verification (prod rolled back to a snapshot taken under
 * the fence), after a cancellation while it was up, and after the worker was SIGKILLed while it was up.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { join } from 'node:path';
import type { SeededProject } from '../../../tools/emulator';
import type { VerificationCheck } from '../../../src/activities/contract';
import {
  killAllCrashWorkers,
  startCrashWorker,
  tempDir,
  writeBundle,
  type CrashWorker,
} from '../../support/crash-worker';
import { branchId, uriOf } from '../../support/emulator-api';
import { sql } from '../../support/postgres';
import { type Stack, startStack } from '../../support/workflow-stack';
import { projectWithWrites } from '../../support/prod-writes';

let s: Stack;
let dir: string;
let bundlePath: string;
beforeAll(async () => {
  s = await startStack(__filename);
  dir = tempDir('np-fence-');
  bundlePath = writeBundle(s.bundle.code);
});
afterAll(async () => {
  await killAllCrashWorkers();
  await s?.stop();
});

/** A worker process that hangs (and is then SIGKILLed) at `killPoint`, as in crash.test.ts. */
const workerProcess = (killPoint: string): Promise<CrashWorker> =>
  startCrashWorker({
    taskQueue: s.t.taskQueue,
    bundlePath,
    emu: s.emu,
    countFile: join(dir, `count-${Date.now()}`),
    killPoint,
  });

/** Resolves once the worker hangs at its kill point; fails if it exited first. */
async function hung(worker: CrashWorker): Promise<void> {
  if ((await worker.killpoint) === null) throw new Error('the worker process exited before its kill point');
}

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
  await hung(w);
  expect(await prodTakesWrites(p)).toBe(false); // the fence is up
  await w.kill();
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
  await hung(w);
  expect(await prodTakesWrites(p)).toBe(false);
  await w.kill();
  const worker = await s.worker();
  const r = await worker.runUntil(run.result());
  expect(r.outcome).toBe('rolled_back');
  expect(await prodTakesWrites(p)).toBe(true);
}, 120_000);
