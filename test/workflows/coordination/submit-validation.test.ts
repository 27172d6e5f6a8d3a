/**
 * The project coordinator's `submit` update as a raw Temporal client reaches it: a malformed submission is refused by
 * the validator, naming the field, and the coordinator goes on admitting the project's runs.
 */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { coordinatorStart } from '../../../src/client/admission';
import { coordinatorWorkflowId, submitUpdate } from '../../../src/workflows/contract/definitions';
import { seedProd, type Stack, startStack } from '../../support/workflow-stack';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename);
});
afterAll(async () => s?.stop());

test('malformed submissions are refused by the validator; the coordinator admits the next run', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const p = await seedProd(s.emu, 2);
    const submit = (request: unknown) =>
      s.t.client.workflow.executeUpdateWithStart(submitUpdate, {
        args: [request as never],
        startWorkflowOperation: coordinatorStart(p.projectId, s.t.taskQueue),
      });
    const valid = { kind: 'setup', workflowId: `setup-raw-${p.projectId}`, input: { projectId: p.projectId } };
    const cases: [string, unknown][] = [
      ['(request)', 'setup'],
      ['kind', { ...valid, kind: 'drop' }],
      ['workflowId', { ...valid, workflowId: 42 }],
      ['ifBusy', { ...valid, ifBusy: 'sometimes' }],
      ['summary', { ...valid, summary: { text: 'nightly' } }],
      ['summary', { ...valid, summary: 'x'.repeat(1001) }],
      ['external.runId', { ...valid, external: 'run-1' }],
      ['external.runId', { ...valid, external: { runId: '' } }],
      ['external.runId', { ...valid, external: { runId: 'run-1' } }],
      ['readmit', { ...valid, readmit: 'yes' }],
    ];
    // Each refusal as "<type> <field it names>", or what happened instead.
    const outcomes: string[] = [];
    for (const [, request] of cases) {
      const err = await submit(request).then(
        () => 'accepted',
        (e: unknown) => e,
      );
      const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
      const field = /^invalid input: ([^:]+):/.exec(cause?.message ?? '')?.[1];
      outcomes.push(cause instanceof ApplicationFailure ? `${cause.type} ${field ?? cause.message}` : String(err));
    }
    expect(outcomes).toEqual(cases.map(([field]) => `InvalidInput ${field}`));

    // Nothing was queued, and the next run of the project is admitted and runs.
    const setup = await s.client.startSetup({ projectId: p.projectId });
    expect(setup.position).toBe(0);
    expect((await setup.result()).outcome).toBe('created');
    const coordinator = await s.t.client.workflow.getHandle(coordinatorWorkflowId(p.projectId)).fetchHistory();
    expect(coordinator.events!.filter((event) => event.workflowTaskFailedEventAttributes)).toEqual([]);
  });
}, 120_000);
