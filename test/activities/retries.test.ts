import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { Context } from '@temporalio/activity';
import { connectTestTemporal, type TestTemporal } from '../support/temporal';
import { type Harness, startHarness } from '../support/activity-harness';

let t: TestTemporal;
let h: Harness;
let workflowBundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  [t, h, workflowBundle] = await Promise.all([
    connectTestTemporal(__filename),
    startHarness(),
    bundleWorkflowCode({ workflowsPath: require.resolve('../support/call-activity-workflow'), logger: undefined }),
  ]);
});
afterAll(async () => {
  await h?.stop();
  await t?.close();
});

const SNAPSHOT_ROUTE = 'POST /projects/{project_id}/branches/{branch_id}/snapshot';

/** Runs `name` through a real worker and records each attempt's number and start time. */
async function runThroughTemporal(name: 'ensureSnapshot', input: unknown) {
  const attempts: { attempt: number; at: number }[] = [];
  const worker = await Worker.create({
    connection: t.nativeConnection,
    taskQueue: t.taskQueue,
    workflowBundle,
    activities: {
      [name]: async (i: never) => {
        attempts.push({ attempt: Context.current().info.attempt, at: Date.now() });
        return h.activities[name](i);
      },
    },
  });
  const outcome = await worker.runUntil(
    t.client.workflow
      .execute('callActivity', {
        taskQueue: t.taskQueue,
        workflowId: `retries-${Date.now()}-${Math.random()}`,
        args: [name, input],
      })
      .then(
        (value: unknown): { value?: unknown; error?: unknown } => ({ value }),
        (error: unknown) => ({ error }),
      ),
  );
  return { ...outcome, attempts };
}

describe('retries through Temporal (real dev server, emulator faults)', () => {
  it('a 429 with Retry-After is retried after that delay (nextRetryDelay), then succeeds', async () => {
    const { projectId, branchId } = await h.createProject();
    h.emu.setFaults({ rules: [{ kind: 'rate_limit', route: SNAPSHOT_ROUTE, times: 1, retryAfterSec: 2 }] });
    const res = await runThroughTemporal('ensureSnapshot', { projectId, branchId, name: 'rl' });
    h.emu.setFaults({ rules: [] });
    expect(res).toMatchObject({ value: { created: true, snapshot: { name: 'rl' } } });
    expect(res.attempts.map((a) => a.attempt)).toEqual([1, 2]);
    // The policy's initialInterval is 50 ms: only Retry-After explains a 2 s gap.
    expect(res.attempts[1]!.at - res.attempts[0]!.at).toBeGreaterThanOrEqual(1900);
  });

  it('a burst of 423 Locked is retried with a growing delay, then succeeds', async () => {
    const { projectId, branchId } = await h.createProject();
    h.emu.setFaults({ rules: [{ kind: 'locked', route: SNAPSHOT_ROUTE, times: 2 }] });
    const res = await runThroughTemporal('ensureSnapshot', { projectId, branchId, name: 'locked' });
    h.emu.setFaults({ rules: [] });
    expect(res).toMatchObject({ value: { created: true } });
    expect(res.attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
    const [a1, a2, a3] = res.attempts.map((a) => a.at) as [number, number, number];
    expect(a2 - a1).toBeGreaterThanOrEqual(900);
    expect(a3 - a2).toBeGreaterThanOrEqual(1900);
  });

  it('a 404 fails the workflow at once: one attempt, ActivityFailure -> ApplicationFailure NeonNotFound', async () => {
    const { projectId } = await h.createProject();
    const res = await runThroughTemporal('ensureSnapshot', { projectId, branchId: 'br-missing-1', name: 'x' });
    expect(res.attempts).toHaveLength(1);
    expect(res.error).toBeInstanceOf(WorkflowFailedError);
    const cause = (res.error as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ActivityFailure);
    expect((cause as ActivityFailure).cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ActivityFailure).cause).toMatchObject({ type: 'NeonNotFound', nonRetryable: true });
  });
});
