/**
 * The approval gate. The candidate snapshot, taken before the wait and restored after it, outlives the longest wait
 * the input allows. A malformed decision from a raw Temporal client is refused by the update's validator and the run
 * keeps waiting (a handler that threw would fail its workflow task and stall the run and the project's queue).
 */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { approveUpdate, rejectUpdate } from '../../../src/workflows/contract/definitions';
import { api } from '../../support/emulator-api';
import { until } from '../../support/polling';
import { projectWithChange, type Stack, startStack } from '../../support/workflow-stack';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename);
});
afterAll(async () => s?.stop());

const waitForStep = (workflowId: string, step: string) =>
  until(
    `${workflowId} in ${step}`,
    () => s.client.getProgress(workflowId),
    (progress) => progress.currentStep === step,
  );

/** The update's refusal, or a failure of the test if it was accepted or not answered within 20 s (a stalled run). */
async function refusal(update: Promise<unknown>): Promise<ApplicationFailure> {
  const timeout = new Promise<string>((resolve) => setTimeout(() => resolve('no answer within 20 s'), 20_000));
  const outcome = await Promise.race([
    update.then(
      () => 'accepted',
      (err: unknown) => err,
    ),
    timeout,
  ]);
  expect(outcome).toBeInstanceOf(WorkflowUpdateFailedError);
  const cause = (outcome as WorkflowUpdateFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return cause as ApplicationFailure;
}

test('malformed decisions from a raw client are refused by the validator; the run waits on and is approved', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const p = await projectWithChange(s);
    const run = await s.client.startPromotion({ projectId: p.projectId, approval: { required: true, timeout: '1h' } });
    await waitForStep(run.workflowId, 'approval');
    const handle = s.t.client.workflow.getHandle(run.workflowId);
    const send = (update: typeof approveUpdate, request: unknown) =>
      handle.executeUpdate(update, { args: [request as never] });

    const cases: [typeof approveUpdate, unknown, RegExp][] = [
      [approveUpdate, { by: 'ops', comment: 42 }, /comment/],
      [rejectUpdate, { by: 'ops', comment: { text: 'no' } }, /comment/],
      [approveUpdate, { by: 42 }, /by/],
      [approveUpdate, null, /request/],
      [rejectUpdate, 'ops', /request/],
    ];
    for (const [update, request, field] of cases) {
      const cause = await refusal(send(update, request));
      expect(cause.type).toBe('InvalidInput');
      expect(cause.message).toMatch(field);
    }

    const approval = await send(approveUpdate, { by: 'ops', comment: null });
    expect(approval).toMatchObject({ approved: true, by: 'ops', comment: null });
    expect((await run.result()).outcome).toBe('promoted');
    const history = await handle.fetchHistory();
    const failedTasks = history.events!.filter((event) => event.workflowTaskFailedEventAttributes);
    expect(failedTasks).toEqual([]);
  });
}, 180_000);

test('the candidate snapshot has no expiry, so it outlives any approval wait', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const p = await projectWithChange(s);
    const run = await s.client.startPromotion({ projectId: p.projectId, approval: { required: true, timeout: '30d' } });
    await waitForStep(run.workflowId, 'approval');
    const listed = async () =>
      (
        (await api(s.emu, 'GET', `/projects/${p.projectId}/snapshots`)) as {
          snapshots: { name: string; expires_at?: string }[];
        }
      ).snapshots.filter((snapshot) => snapshot.name.startsWith('np-candidate-'));
    const [candidate] = await listed();
    expect(candidate).toBeDefined();
    expect(candidate!.expires_at).toBeUndefined();
    // Not adopted by a run that did not promote: the rejection deletes it.
    await s.client.reject(run.workflowId, 'ops');
    expect((await run.result()).outcome).toBe('aborted');
    expect(await listed()).toEqual([]);
  });
}, 180_000);
