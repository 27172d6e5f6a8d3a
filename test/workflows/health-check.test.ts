import { WorkflowFailedError } from '@temporalio/client';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { createHealthActivities } from '../../src/activities/health';
import { createWorker } from '../../src/worker';
import type { healthCheck } from '../../src/workflows';
import { maybeRecordHistory } from '../support/histories';
import { connectTestTemporal, type TestTemporal } from '../support/temporal';
import { bundleProductionWorkflows } from '../support/workflow-bundle';

let t: TestTemporal;
let workflowBundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  t = await connectTestTemporal(__filename);
  workflowBundle = await bundleProductionWorkflows();
});
afterAll(async () => t?.close());

test('the health-check workflow runs its activity on a worker of the real dev server', async () => {
  const worker = await createWorker({
    connection: t.nativeConnection,
    taskQueue: t.taskQueue,
    workflowBundle,
    activities: createHealthActivities('test-worker'),
  });
  const handle = await worker.runUntil(async () => {
    const h = await t.client.workflow.start('healthCheck', {
      taskQueue: t.taskQueue,
      workflowId: `health-check-${Date.now()}`,
      args: ['hello'],
    });
    expect(await h.result()).toEqual({ reply: 'pong: hello', worker: 'test-worker' });
    return h;
  });
  const description = await handle.describe();
  expect(description.status.name).toBe('COMPLETED');
  await maybeRecordHistory(handle, 'health-check');
});

test('an activity failure reaches the caller as WorkflowFailedError -> ActivityFailure -> ApplicationFailure', async () => {
  const worker = await createWorker({
    connection: t.nativeConnection,
    taskQueue: t.taskQueue,
    workflowBundle,
    activities: {
      ping: async () => {
        throw ApplicationFailure.create({ type: 'Unreachable', message: 'no pong', nonRetryable: true });
      },
    },
  });
  const err = await worker.runUntil(
    t.client.workflow
      .execute<typeof healthCheck>('healthCheck', {
        taskQueue: t.taskQueue,
        workflowId: `health-check-fail-${Date.now()}`,
        args: ['x'],
      })
      .catch((e: unknown) => e),
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const activityFailure = (err as WorkflowFailedError).cause;
  expect(activityFailure).toBeInstanceOf(ActivityFailure);
  const appFailure = (activityFailure as ActivityFailure).cause;
  expect(appFailure).toBeInstanceOf(ApplicationFailure);
  expect((appFailure as ApplicationFailure).type).toBe('Unreachable');
});
