/**
 * `neon-promote unfence`: lifts a write fence of ours from prod, says so when there is none, and refuses (exit 4) the
 * owner's own read-only setting, which it leaves. The CLI as a user runs it, against a worker, Temporal and the emulator.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import type { SeededProject } from '../../tools/emulator';
import { runCli, type CliResult } from '../support/cli';
import { asOwner, takesWrites } from '../support/fence';
import { maybeRecordCompletedRun } from '../support/histories';
import { sql } from '../support/postgres';
import { neonActivities, seedProd, type Stack, startStack } from '../support/workflow-stack';

let s: Stack;
let worker: Worker;
let running: Promise<void>;
let p: SeededProject;

beforeAll(async () => {
  s = await startStack(__filename);
  worker = await s.worker();
  running = worker.run();
  p = await seedProd(s.emu);
  await sql(p.connectionUri, 'CREATE TABLE writes (id bigint PRIMARY KEY, note text)');
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  await s?.stop();
});

const unfence = (...args: string[]): Promise<CliResult> =>
  runCli(
    {
      TEMPORAL_ADDRESS: process.env.TEMPORAL_TEST_ADDRESS,
      TEMPORAL_NAMESPACE: s.t.namespace,
      NEON_PROMOTE_TASK_QUEUE: s.t.taskQueue,
    },
    ['unfence', '--project', p.projectId, ...args],
  );

test('a fence of ours is lifted (exit 0); then there is none to lift (exit 0)', async () => {
  const { projectId, branchId, databaseName, roleName } = p;
  await new MockActivityEnvironment().run(neonActivities(s.emu).fenceWrites, {
    projectId,
    branchId,
    databaseName,
    roleName,
  });
  expect(await takesWrites(p.connectionUri)).toBe(false);
  const lifted = await unfence('--json');
  expect(lifted).toMatchObject({ code: 0, stderr: '' });
  expect(JSON.parse(lifted.stdout)).toMatchObject({ outcome: 'lifted', branchId });
  expect(await takesWrites(p.connectionUri)).toBe(true);
  await maybeRecordCompletedRun(s.t.client, 'unfence', 'unfence');

  const none = await unfence();
  expect(none).toMatchObject({ code: 0, stderr: '' });
  expect(none.stdout).toMatch(/^no fence/);
});

test("prod's own read-only setting is refused with exit 4 and left as it is", async () => {
  await asOwner(p.connectionUri, 'SET default_transaction_read_only = on');
  try {
    const refused = await unfence();
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/^neon-promote: refused: .*read-only by its owner's own setting/);
    expect(await takesWrites(p.connectionUri)).toBe(false);
  } finally {
    await asOwner(p.connectionUri, 'RESET default_transaction_read_only');
  }
});

test('a prod branch that does not exist is refused with exit 4', async () => {
  const missing = await unfence('--prod', 'no-such-branch');
  expect(missing.code).toBe(4);
  expect(missing.stderr).toMatch(/no branch named "no-such-branch"/);
});
