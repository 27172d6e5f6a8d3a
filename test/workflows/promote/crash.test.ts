import { join } from 'node:path';
import { killAllCrashWorkers, startCrashWorker, tempDir, writeBundle } from '../../support/crash-worker';
import { inventory, uriOf } from '../../support/emulator-api';
import { sql } from '../../support/postgres';
import { seedProd, sourceOf, type Stack, startStack } from '../../support/workflow-stack';

let s: Stack;
let dir: string;
let bundlePath: string;
beforeAll(async () => {
  s = await startStack(__filename);
  dir = tempDir('np-crash-');
  bundlePath = writeBundle(s.bundle.code);
});
afterAll(async () => {
  await killAllCrashWorkers();
  await s?.stop();
});

const startWorker = (killPoint: string | undefined, countFile: string) =>
  startCrashWorker({ taskQueue: s.t.taskQueue, bundlePath, emu: s.emu, countFile, killPoint });

/**
 * Each step of a promotion that carries prod's writes since the fork, at the moment its effect is done (at Neon or in
 * a database) but before Temporal hears of it.
 */
const KILL_POINTS = [
  'resolveEnvironment#1', // plan
  'restoreSnapshot#1', // the fork point restored next to prod
  'createEndpoint#1', // its read-only endpoint
  'diffSinceFork#1', // prod's writes since the fork counted
  'ensureSnapshot#1', // snapshot dev: taken and its operations waited for (in the same activity), the result lost
  'restoreSnapshot#2', // restore the candidate
  'createEndpoint#2', // its endpoint
  'verifyBranch#1', // verify the candidate
  'reconcileLateWrites#1', // the carry tried on the candidate
  'fenceWrites#1', // the write fence (default policy) just raised
  'ensureSnapshot#2', // snapshot prod under the fence (a lost response: the retry must find it, not take another)
  'finalizeRestore#1', // the swap: the candidate's endpoint deleted, then the finalize
  'liftFence#1', // the fence lifted
  'createEndpoint#3', // a read-only endpoint on the replaced prod, the carry's source
  'reconcileLateWrites#2', // the carry, committed on the new prod
  'verifyBranch#2', // verify prod
  'cleanUpSwap#1', // clean up: the fork point's branch, the candidate adopted as the fork point, the backup's expiry
];

const SIGNUPS = 25;

test('a worker process killed in every step of a carrying promotion: each prod write carried once, nothing made twice', async () => {
  const p = await seedProd(s.emu, 6);
  await sql(p.connectionUri, 'CREATE TABLE submissions (id int PRIMARY KEY, email text NOT NULL)');
  // Setup with an in-process worker; the promotion then runs only on worker processes that get killed.
  const inProcess = await s.worker();
  await inProcess.runUntil(async () => {
    await (await s.client.startSetup({ projectId: p.projectId })).result();
  });
  // Prod takes sign-ups after dev was forked; dev changes items.
  await sql(
    p.connectionUri,
    `INSERT INTO submissions SELECT g, 'signup' || g || '@example.com' FROM generate_series(1, ${SIGNUPS}) g`,
  );
  await sql(await uriOf(s.emu, p, 'dev'), `UPDATE items SET source = 'dev'`);
  s.emu.resetRequestLog();
  const countFile = join(dir, `count-${p.projectId}`);
  const reached: string[] = [];
  // The coordinator admits the run through an update, which needs a worker: the first one is up before the start.
  let w = await startWorker(KILL_POINTS[0], countFile);
  const run = await s.client.startPromotion({
    projectId: p.projectId,
    checks: [{ kind: 'tablesExist', tables: ['items'] }],
    reconcile: { tables: [{ table: 'submissions', key: ['id'] }], onConflict: 'fail' },
  });
  const finished = run.result().then(() => null);
  for (const [i, point] of KILL_POINTS.entries()) {
    if (i > 0) w = await startWorker(point, countFile);
    // A kill point the run never reaches (a wrong count) must fail the test, not hang it.
    const hit = await Promise.race([w.killpoint, finished]);
    reached.push(hit ?? `missed ${point}`);
    await w.kill();
  }
  const last = await startWorker(undefined, countFile);
  let carried;
  try {
    const r = await run.result();
    expect(r.outcome).toBe('promoted');
    carried = r.writes!.reconciled!.tables[0]!;
  } finally {
    await last.kill();
  }
  expect(reached).toEqual(KILL_POINTS.map((k) => `KILLPOINT ${k}`));
  expect(await sourceOf(p.connectionUri)).toEqual(['dev']);
  // Each sign-up is in the new prod once; the carry killed after its commit finds them there on its retry.
  const ids = await sql<{ id: number }>(p.connectionUri, 'SELECT id FROM submissions ORDER BY id');
  expect(ids.map((row) => row.id)).toEqual(Array.from({ length: SIGNUPS }, (_, i) => i + 1));
  expect(carried.inserted + carried.alreadyPresent).toBe(SIGNUPS);
  // Exactly one of everything: two snapshots taken, two restores (the fork point and the candidate), one finalize,
  // three endpoints, and what remains.
  const counts = s.emu.requestCounts();
  expect(counts['POST /projects/{project_id}/branches/{branch_id}/snapshot']).toBe(2);
  expect(counts['POST /projects/{project_id}/snapshots/{snapshot_id}/restore']).toBe(2);
  expect(counts['POST /projects/{project_id}/branches/{branch_id}/finalize_restore']).toBe(1);
  expect(counts['POST /projects/{project_id}/endpoints']).toBe(3);
  const inv = await inventory(s.emu, p.projectId);
  expect(inv.snapshots.map((x) => x.name).sort()).toEqual([
    expect.stringMatching(/^np-fork-/),
    expect.stringMatching(/^np-rollback-/),
  ]);
  expect(inv.branches.map((b) => b.name).sort()).toEqual(['dev', expect.stringMatching(/^np-old-/), 'prod']);
}, 900_000);
