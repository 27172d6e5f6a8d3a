/**
 * A promotion sends attempt 1 of its restores and its finalize without looking for an earlier execution's branch only
 * while it is its workflow's first execution. A run an operator resets replays the plan that found none of its names,
 * yet the execution before the reset may have restored already: the reset run looks, and adopts that branch.
 */
import { randomUUID } from 'node:crypto';
import type { PromoteResult } from '../../../src/workflows';
import {
  coordinatorStateQuery,
  coordinatorWorkflowId,
  progressQuery,
} from '../../../src/workflows/contract/definitions';
import { inventory } from '../../support/emulator-api';
import { until } from '../../support/polling';
import { projectWithChange, type Stack, startStack } from '../../support/workflow-stack';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename);
});
afterAll(async () => s?.stop());

test('a run reset to before its candidate restore finds the branch the execution before made, and makes none', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const p = await projectWithChange(s);
    // The first promotion leaves the fork point the second restores next to prod.
    expect((await s.client.promote({ projectId: p.projectId })).outcome).toBe('promoted');
    const coordinator = s.t.client.workflow.getHandle(coordinatorWorkflowId(p.projectId));
    await until(
      'the first promotion to be done',
      () => coordinator.query(coordinatorStateQuery),
      (c) => c.active === null,
    );

    const from = s.emu.requestLog().length;
    // A check that takes seconds holds the run in the candidate's verification, after the candidate's restore.
    const started = await s.client.startPromotion({
      projectId: p.projectId,
      checks: [{ kind: 'sql', name: 'slow', sql: 'SELECT 1 FROM pg_sleep(4)', expect: { value: 1 } }],
    });
    const held = s.t.client.workflow.getHandle(started.workflowId);
    await until(
      'the run verifying its candidate',
      () => held.query(progressQuery),
      (x) => x.currentStep === 'verify_candidate',
    );
    // Reset to the workflow task that scheduled the candidate's restore (the second restore, after the fork point's):
    // the reset run replays the plan, which found none of the run's names, and schedules the restore again.
    const events = (await held.fetchHistory()).events ?? [];
    const restores = events.filter(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'restoreSnapshot',
    );
    expect(restores).toHaveLength(2);
    const reset = await s.t.client.workflowService.resetWorkflowExecution({
      namespace: s.t.namespace,
      workflowExecution: { workflowId: held.workflowId },
      reason: 'test: operator reset',
      workflowTaskFinishEventId: restores[1]!.activityTaskScheduledEventAttributes!.workflowTaskCompletedEventId,
      requestId: randomUUID(),
    });
    const result = (await s.t.client.workflow.getHandle(held.workflowId, reset.runId).result()) as PromoteResult;
    expect(result.outcome).toBe('promoted');

    const sent = s.emu
      .requestLog()
      .slice(from)
      .filter((e) => e.route === 'POST /projects/{project_id}/snapshots/{snapshot_id}/restore');
    // The fork point's copy and the candidate, once each: the reset run found the candidate and sent nothing.
    expect(sent).toHaveLength(2);
    const left = (await inventory(s.emu, p.projectId)).branches.filter((b) => b.name.startsWith('np-candidate-'));
    expect(left).toEqual([]);
  });
}, 300_000);
