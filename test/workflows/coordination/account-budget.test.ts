/**
 * The account's rate budget workflow on the test server: leases that together stay within the budget, refusals of
 * requests it could not count, its book kept across continue-as-new, no API key anywhere in its history; and a
 * worker's keeper (SharedRateBudget) that lets nothing through until the workflow answers.
 */
import { WithStartWorkflowOperation, WorkflowUpdateFailedError } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { RateBudget } from '../../../src/neon';
import { createWorker } from '../../../src/worker';
import { accountHashOf, SharedRateBudget } from '../../../src/worker/rate-lease';
import {
  accountBudgetStateQuery,
  accountBudgetWorkflowId,
  leaseUpdate,
  type LeaseRequest,
} from '../../../src/workflows/contract/rate-lease';
import { maybeRecordHistory } from '../../support/histories';
import { connectTestTemporal, type TestTemporal } from '../../support/temporal';
import { bundleProductionWorkflows } from '../../support/workflow-bundle';

const BUDGET = { perMinute: 120, perSecondPerRoute: 5 };
const NONE = { perMinute: 0, perSecondPerRoute: 0 };

let t: TestTemporal;
let worker: Worker;
let running: Promise<void>;
let bundle: Awaited<ReturnType<typeof bundleProductionWorkflows>>;
let accounts = 0;

beforeAll(async () => {
  [t, bundle] = await Promise.all([connectTestTemporal(__filename), bundleProductionWorkflows()]);
  worker = await createWorker({
    connection: t.nativeConnection,
    taskQueue: t.taskQueue,
    workflowBundle: bundle,
    activities: {},
  });
  running = worker.run();
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  await t?.close();
});

/** A fresh account, named as a worker with this key would name it. */
const account = (key = `napi_test_${process.pid}_${++accounts}`) => ({
  key,
  hash: accountHashOf({ NEON_API_KEY: key }),
});

function lease(hash: string, req: Partial<LeaseRequest> & { workerId: string; renewal: number }, input: object = {}) {
  return t.client.workflow.executeUpdateWithStart(leaseUpdate, {
    args: [{ budget: BUDGET, applied: null, holding: NONE, used: NONE, waiting: 0, ...req }],
    startWorkflowOperation: new WithStartWorkflowOperation('accountRateBudget', {
      workflowId: accountBudgetWorkflowId(hash),
      taskQueue: t.taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
    }),
  });
}

test('leases together stay within the budget; the key is nowhere in the history', async () => {
  const { key, hash } = account();
  const a = await lease(hash, { workerId: 'a', renewal: 1, waiting: 100 });
  expect(a.share).toEqual(BUDGET);
  // A joins while A's lease may be in use: nothing is left for it until A's charge falls.
  const b = await lease(hash, { workerId: 'b', renewal: 1, waiting: 100 });
  expect(b.share).toEqual(NONE);
  // A, renewing, is cut to its fair part; B gets the rest once A says it enforces the smaller lease.
  const a2 = await lease(hash, { workerId: 'a', renewal: 2, applied: a.leaseId, holding: a.share, waiting: 100 });
  expect(a2.share.perMinute).toBe(60);
  await lease(hash, { workerId: 'a', renewal: 3, applied: a2.leaseId, holding: a2.share, waiting: 100 });
  const b2 = await lease(hash, { workerId: 'b', renewal: 2, applied: b.leaseId, waiting: 100 });
  expect(b2.share.perMinute).toBe(60);

  const handle = t.client.workflow.getHandle(accountBudgetWorkflowId(hash));
  const state = await handle.query(accountBudgetStateQuery);
  expect(state.budget).toEqual(BUDGET);
  expect(state.committed.perMinute).toBeLessThanOrEqual(BUDGET.perMinute);
  expect(state.workers.map((w) => w.workerId).sort()).toEqual(['a', 'b']);
  expect(JSON.stringify(await handle.fetchHistory())).not.toContain(key);
  await maybeRecordHistory(handle, 'account-rate-budget');
});

test('a request it could not count is refused, and the workflow goes on', async () => {
  const { hash } = account();
  await lease(hash, { workerId: 'a', renewal: 1 });
  const refused = lease(hash, { workerId: 'b', renewal: 1, used: { perMinute: -1, perSecondPerRoute: 0 } });
  await expect(refused).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
  await expect(refused).rejects.toMatchObject({ cause: { type: 'InvalidInput' } });
  expect((await lease(hash, { workerId: 'a', renewal: 2 })).leaseId).toMatch(/-2$/);
});

test('its book survives continue-as-new: a worker joining afterwards still gets only what is left', async () => {
  const { hash } = account();
  const handle = t.client.workflow.getHandle(accountBudgetWorkflowId(hash));
  let held = await lease(hash, { workerId: 'a', renewal: 1, waiting: 100 }, { maxHistoryEvents: 100 });
  const firstRun = (await handle.describe()).runId;
  for (let n = 2; (await handle.describe()).runId === firstRun; n++) {
    held = await lease(hash, { workerId: 'a', renewal: n, applied: held.leaseId, holding: held.share, waiting: 100 });
    if (n > 200) throw new Error('no continue-as-new after 200 renewals');
  }
  expect(held.share).toEqual(BUDGET);
  expect((await lease(hash, { workerId: 'b', renewal: 1, waiting: 100 })).share).toEqual(NONE);
});

test('a worker lets nothing through until the budget workflow answers, then its share', async () => {
  const { hash } = account();
  const budget = new RateBudget(BUDGET);
  const queue = `${t.taskQueue}-unpolled`;
  const keeper = new SharedRateBudget({ client: t.client, taskQueue: queue, accountHash: hash, budget });
  keeper.start();
  let granted = false;
  const request = budget.acquire('GET /projects').then(() => (granted = true));
  // Nobody polls the workflow's task queue: its first renewal times out, and nothing was let through meanwhile.
  await new Promise((resolve) => setTimeout(resolve, 6_000));
  expect(granted).toBe(false);
  expect([budget.perMinute, budget.perSecondPerRoute]).toEqual([0, 0]);

  const late = await createWorker({
    connection: t.nativeConnection,
    taskQueue: queue,
    workflowBundle: bundle,
    activities: {},
  });
  await late.runUntil(async () => {
    await request;
    expect(budget.perMinute).toBeGreaterThan(0);
    expect(budget.perMinute).toBeLessThanOrEqual(BUDGET.perMinute);
    await keeper.stop();
    expect([budget.perMinute, budget.perSecondPerRoute]).toEqual([0, 0]);
    const state = await t.client.workflow.getHandle(accountBudgetWorkflowId(hash)).query(accountBudgetStateQuery);
    expect(state.workers.filter((w) => w.live)).toEqual([]);
  });
});
