import { Context } from '@temporalio/activity';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createHealthActivities } from '../src/activities/health';
import { createWorker } from '../src/worker';
import { REPLAY_FAILURES_DIR, describeFailures, replayServerHistories } from './support/replay-check';
import { connectTestTemporal, type TestTemporal } from './support/temporal';
import { bundleProductionWorkflows, quietLogger } from './support/workflow-bundle';

// The check that ends every test run (test/support/global-teardown.ts) must catch a workflow change that breaks the
// histories on the server, finished or still running. Here it replays this file's own runs (its task queue) against
// a deliberately changed healthCheck (a timer before the activity) and against the production code.
let t: TestTemporal;
let production: WorkflowBundleWithSourceMap;
let changed: WorkflowBundleWithSourceMap;
const label = 'replay-check-test';

beforeAll(async () => {
  t = await connectTestTemporal(__filename);
  [production, changed] = await Promise.all([
    bundleProductionWorkflows(),
    bundleWorkflowCode({
      workflowsPath: require.resolve('./fixtures/nondeterministic-workflows'),
      logger: quietLogger,
    }),
  ]);
});
afterAll(async () => t?.close());

const check = (bundle?: WorkflowBundleWithSourceMap) =>
  replayServerHistories({
    address: process.env.TEMPORAL_TEST_ADDRESS!,
    label,
    query: `TaskQueue = '${t.taskQueue}'`,
    ...(bundle ? { bundle, workflowTypes: new Set(['healthCheck']) } : {}),
  });

test('a changed workflow fails replay of the finished and the running histories on the server, one line each', async () => {
  const finishedId = `replay-check-finished-${Date.now()}`;
  const runningId = `replay-check-running-${Date.now()}`;
  const done = await createWorker({
    connection: t.nativeConnection,
    taskQueue: t.taskQueue,
    workflowBundle: production,
    activities: createHealthActivities('replay-check'),
  });
  await done.runUntil(
    t.client.workflow.execute('healthCheck', { taskQueue: t.taskQueue, workflowId: finishedId, args: ['a'] }),
  );

  // The activity of the second run waits until the worker stops: the run stays open with its first task completed.
  let pinged!: () => void;
  const reached = new Promise<void>((resolve) => (pinged = resolve));
  const held = await createWorker({
    connection: t.nativeConnection,
    taskQueue: t.taskQueue,
    workflowBundle: production,
    activities: {
      ping: async () => {
        pinged();
        await Context.current().cancelled;
      },
    },
  });
  const running = await held.runUntil(async () => {
    const handle = await t.client.workflow.start('healthCheck', {
      taskQueue: t.taskQueue,
      workflowId: runningId,
      args: ['b'],
    });
    await reached;
    return handle;
  });
  try {
    expect((await running.describe()).status.name).toBe('RUNNING');

    const clean = await check();
    expect(clean.failures).toEqual([]);
    expect(clean.replayed).toBe(2);
    expect(clean.running).toBe(1);

    const broken = await check(changed);
    expect(broken.failures.map((f) => [f.workflowId, f.type]).sort()).toEqual([
      [finishedId, 'healthCheck'],
      [runningId, 'healthCheck'],
    ]);
    for (const failure of broken.failures) expect(failure.error).toMatch(/nondeterminism/i);
    const lines = describeFailures(label, broken).split('\n');
    expect(lines).toHaveLength(3);
    expect(
      lines
        .slice(1)
        .map((line) => line.trim().split(' ')[0])
        .sort(),
    ).toEqual([finishedId, runningId].sort());
    expect(lines[1]).toContain('[TMPRL1100] Nondeterminism error');
    const written = readdirSync(join(REPLAY_FAILURES_DIR, label));
    expect(written.filter((file) => file.startsWith(finishedId) || file.startsWith(runningId))).toHaveLength(2);
  } finally {
    await running.terminate('the replay check test is done with it');
    await check();
  }
  expect(existsSync(join(REPLAY_FAILURES_DIR, label))).toBe(false);
});
