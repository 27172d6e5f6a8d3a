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

/** Each step of promote, at the moment its effect is done at Neon but before Temporal hears of it. */
const KILL_POINTS = [
  'resolveEnvironment#1', // plan
  'ensureSnapshot#1', // snapshot dev: taken and its operations waited for (in the same activity), the result lost
  'restoreSnapshot#1', // restore the candidate
  'createEndpoint#1', // its endpoint
  'verifyBranch#1', // verify the candidate
  'fenceWrites#1', // the write fence (default policy) just raised
  'ensureSnapshot#2', // snapshot prod under the fence (a lost response: the retry must find it, not take another)
  'finalizeRestore#1', // the swap
  'liftFence#1', // the fence lifted
  'verifyBranch#2', // verify prod
  'deleteSnapshot#1', // clean up
];

test('a worker process killed in every step of promote: a new worker finishes it, nothing created twice', async () => {
  const p = await seedProd(s.emu, 6);
  // Setup with an in-process worker; the promotion then runs only on worker processes that get killed.
  const inProcess = await s.worker();
  await inProcess.runUntil(async () => {
    await (await s.client.startSetup({ projectId: p.projectId })).result();
  });
  await sql(await uriOf(s.emu, p, 'dev'), `UPDATE items SET source = 'dev'`);
  s.emu.resetRequestLog();
  const countFile = join(dir, `count-${p.projectId}`);
  const reached: string[] = [];
  // The coordinator admits the run through an update, which needs a worker: the first one is up before the start.
  let w = await startWorker(KILL_POINTS[0], countFile);
  const run = await s.client.startPromotion({
    projectId: p.projectId,
    checks: [{ kind: 'tablesExist', tables: ['items'] }],
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
  try {
    const r = await run.result();
    expect(r.outcome).toBe('promoted');
  } finally {
    await last.kill();
  }
  expect(reached).toEqual(KILL_POINTS.map((k) => `KILLPOINT ${k}`));
  expect(await sourceOf(p.connectionUri)).toEqual(['dev']);
  // Exactly one of everything: two snapshots taken, one restore, one finalize, one endpoint, and what remains.
  const counts = s.emu.requestCounts();
  expect(counts['POST /projects/{project_id}/branches/{branch_id}/snapshot']).toBe(2);
  expect(counts['POST /projects/{project_id}/snapshots/{snapshot_id}/restore']).toBe(1);
  expect(counts['POST /projects/{project_id}/branches/{branch_id}/finalize_restore']).toBe(1);
  expect(counts['POST /projects/{project_id}/endpoints']).toBe(1);
  const inv = await inventory(s.emu, p.projectId);
  expect(inv.snapshots.map((x) => x.name)).toEqual([expect.stringMatching(/^np-rollback-/)]);
  expect(inv.branches.map((b) => b.name).sort()).toEqual(['dev', expect.stringMatching(/^np-old-/), 'prod']);
}, 300_000);
