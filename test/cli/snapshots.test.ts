/**
 * `neon-promote snapshots list|delete` and `neon-promote janitor`: an operator sees the project's snapshots with their
 * roles and the plan's free slots, deletes the ones they pick (never the current fork point), and runs the janitor once.
 * The CLI as a user runs it, against a worker, Temporal and the emulator.
 */
import type { Worker } from '@temporalio/worker';
import type { SeededProject } from '../../tools/emulator';
import type { JanitorResult, SnapshotInventory } from '../../src/workflows';
import { runCli } from '../support/cli';
import { maybeRecordCompletedRun } from '../support/histories';
import { inventory } from '../support/emulator-api';
import { neonActivities, seedProd, type Stack, startStack } from '../support/workflow-stack';

let s: Stack;
let worker: Worker;
let running: Promise<void>;
let p: SeededProject;

beforeAll(async () => {
  s = await startStack(__filename);
  worker = await s.worker(neonActivities(s.emu, 6));
  running = worker.run();
  p = await seedProd(s.emu, 2);
  await (await s.client.startSetup({ projectId: p.projectId })).result();
  for (let i = 0; i < 3; i++) expect((await s.client.promote({ projectId: p.projectId })).outcome).toBe('promoted');
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  await s?.stop();
});

async function cli<T>(...args: string[]): Promise<T> {
  const settings = {
    TEMPORAL_ADDRESS: process.env.TEMPORAL_TEST_ADDRESS,
    TEMPORAL_NAMESPACE: s.t.namespace,
    NEON_PROMOTE_TASK_QUEUE: s.t.taskQueue,
  };
  const result = await runCli(settings, [...args, '--project', p.projectId, '--json']);
  expect(result).toMatchObject({ code: 0, stderr: '' });
  return JSON.parse(result.stdout) as T;
}

const rollbackPoints = (listed: SnapshotInventory) =>
  listed.snapshots.filter((snapshot) => snapshot.role === 'rollback point');

test('list, delete what the operator picks (not the fork point), and the janitor once', async () => {
  const listed = await cli<SnapshotInventory>('snapshots', 'list');
  expect(listed.snapshots.map((snapshot) => snapshot.role)).toEqual([
    'rollback point',
    'rollback point',
    // The last promotion's candidate, taken before its rollback point.
    'fork point',
    'rollback point',
  ]);
  expect(listed).toMatchObject({ snapshotLimit: 6, freeSnapshotSlots: 2 });
  await maybeRecordCompletedRun(s.t.client, 'snapshotInventory', 'snapshot-inventory');
  const fork = listed.snapshots.find((snapshot) => snapshot.role === 'fork point')!;
  const [oldest] = rollbackPoints(listed);

  const picked = await cli<JanitorResult>('snapshots', 'delete', oldest!.id, fork.id, '--wait');
  expect(picked.deletedSnapshots).toEqual([{ id: oldest!.id, name: oldest!.name, why: 'asked for by the operator' }]);
  expect(picked.skipped).toEqual([
    expect.objectContaining({ id: fork.id, why: expect.stringMatching(/fork point/) as unknown }),
  ]);
  expect(picked.deletedBranches).toEqual([]);

  // Of six slots the fork point and two rollback points hold three: with four to keep free, the older point goes.
  const [older, newer] = rollbackPoints(await cli<SnapshotInventory>('snapshots', 'list'));
  const cleaned = await cli<JanitorResult>(
    'janitor',
    '--wait',
    '--reserve-snapshot-slots',
    '4',
    '--keep-rollback-snapshots',
    '1',
  );
  expect(cleaned.deletedSnapshots).toContainEqual(expect.objectContaining({ id: older!.id }));
  const left = (await inventory(s.emu, p.projectId)).snapshots.map((snapshot) => snapshot.id).sort();
  expect(left).toEqual([fork.id, newer!.id].sort());
});
