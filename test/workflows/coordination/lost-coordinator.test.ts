/**
 * A project's coordinator lost while runs wait (an operator terminates it): the queued runs notice, ask again, and the
 * fresh coordinator first waits for the run still holding the project, so nothing waits forever and nothing overlaps.
 * A direct start the coordinator refuses as invalid ends with a recorded outcome.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { coordinatorStart } from '../../../src/client/admission';
import type { PromoteResult } from '../../../src/workflows';
import {
  coordinatorStateQuery,
  coordinatorWorkflowId,
  progressQuery,
  submitUpdate,
} from '../../../src/workflows/contract/definitions';
import { maybeRecordHistory } from '../../support/histories';
import { until } from '../../support/polling';
import { projectWithChange, runWatch, seedProd, type Stack, startStack } from '../../support/workflow-stack';

let s: Stack;
const { coordinatorState, expectStepsAfter } = runWatch(() => s);
beforeAll(async () => {
  s = await startStack(__filename);
});
afterAll(async () => {
  await s?.stop();
});

/** Tests wait seconds, not the default minutes, before a queued run checks that its coordinator still lists it. */
const turnCheckSeconds = 1;

let seq = 0;
const newId = (what: string) => `${what}-${Date.now()}-${seq++}`;

/** Submits a dry-run promotion to the coordinator as the client does, but with the raw input field the client drops. */
async function submitDryRun(projectId: string): Promise<string> {
  const workflowId = newId('queued-child');
  await s.t.client.workflow.executeUpdateWithStart(submitUpdate, {
    args: [{ kind: 'promote', workflowId, input: { projectId, dryRun: true, turnCheckSeconds }, ifBusy: 'queue' }],
    startWorkflowOperation: coordinatorStart(projectId, s.t.taskQueue),
  });
  return workflowId;
}

test('runs queued behind a held one when the coordinator is terminated still run, after it and one at a time', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const p = await projectWithChange(s);
    const held = await s.client.startPromotion({ projectId: p.projectId, approval: { required: true, timeout: '1h' } });
    await until(
      'the held run at approval',
      () => s.client.getProgress(held.workflowId),
      (x) => x.currentStep === 'approval',
    );
    // Queued behind it: a child of the coordinator, and a run started directly (an external entry).
    const child = await submitDryRun(p.projectId);
    const direct = await s.t.client.workflow.start('promote', {
      taskQueue: s.t.taskQueue,
      workflowId: newId('queued-direct'),
      args: [{ projectId: p.projectId, dryRun: true, turnCheckSeconds }],
    });
    await until(
      'both queued',
      () => coordinatorState(p.projectId),
      (c) => c.queued.length === 2,
    );
    const old = await s.t.client.workflow.getHandle(coordinatorWorkflowId(p.projectId)).describe();

    await s.t.client.workflow.getHandle(coordinatorWorkflowId(p.projectId)).terminate('test: operator lost the queue');

    // The queued runs notice and ask again, which starts a fresh coordinator (the terminated one still answers queries
    // with its last state); it lists the held run first and waits for it.
    const fresh = await until(
      'a fresh coordinator',
      () => s.t.client.workflow.getHandle(coordinatorWorkflowId(p.projectId)).describe(),
      (d) => d.runId !== old.runId && d.status.name === 'RUNNING',
    );
    const c = await until(
      'the fresh coordinator listing all three',
      () => s.t.client.workflow.getHandle(coordinatorWorkflowId(p.projectId), fresh.runId).query(coordinatorStateQuery),
      (x) => x.active !== null && x.queued.length === 2,
    );
    expect(c.active).toBe(held.workflowId);
    expect([...c.queued].sort()).toEqual([child, direct.workflowId].sort());
    // Still waiting: nothing ran beside the held run.
    for (const id of [child, direct.workflowId])
      expect(await s.client.getProgress(id)).toMatchObject({ queued: true, steps: [] });

    await s.client.approve(held.workflowId, 'alice');
    expect((await held.result()).outcome).toBe('promoted');
    const childResult = (await s.t.client.workflow.getHandle(child).result()) as PromoteResult;
    const directResult = (await direct.result()) as PromoteResult;
    expect([childResult.outcome, directResult.outcome]).toEqual(['dry_run', 'dry_run']);
    await expectStepsAfter(held.workflowId, child);
    await expectStepsAfter(held.workflowId, direct.workflowId);
    const [first, second] = c.queued;
    await expectStepsAfter(first!, second!);
    await until(
      'the coordinator to be idle',
      () => coordinatorState(p.projectId),
      (x) => x.active === null && x.queued.length === 0,
    );
    await maybeRecordHistory(s.t.client.workflow.getHandle(child), 'promote-readmitted');
    await maybeRecordHistory(
      s.t.client.workflow.getHandle(coordinatorWorkflowId(p.projectId)),
      'coordinator-recovered',
    );
  });
});

/**
 * `none`: the reset coordinator knows neither run (the queued one's re-admission recovers both); `updates`: the
 * submissions are reapplied, their child starts fail (the runs exist), and the coordinator recovers the runs then; a
 * run submitted after the reset waits too.
 */
test.each(['none', 'updates'] as const)(
  'runs queued when the coordinator is reset to before they were submitted (reapplied: %s) still wait for the held run',
  async (reapplied) => {
    const worker = await s.worker();
    await worker.runUntil(async () => {
      const p = await projectWithChange(s);
      const coordinator = s.t.client.workflow.getHandle(coordinatorWorkflowId(p.projectId));
      await until(
        'setup to be done',
        () => coordinator.query(coordinatorStateQuery),
        (c) => c.active === null,
      );
      // The reset point: the coordinator's last workflow task before the two runs below were submitted.
      const before = (await coordinator.fetchHistory()).events ?? [];
      const resetPoint = before.filter((e) => e.workflowTaskCompletedEventAttributes).at(-1)!.eventId;

      const held = await s.client.startPromotion({
        projectId: p.projectId,
        approval: { required: true, timeout: '1h' },
      });
      await until(
        'the held run at approval',
        () => s.client.getProgress(held.workflowId),
        (x) => x.currentStep === 'approval',
      );
      const queued = await submitDryRun(p.projectId);
      await until(
        'the run to be queued',
        () => coordinator.query(coordinatorStateQuery),
        (c) => c.queued.includes(queued),
      );

      const reset = await s.t.client.workflowService.resetWorkflowExecution({
        namespace: s.t.namespace,
        workflowExecution: { workflowId: coordinatorWorkflowId(p.projectId) },
        reason: 'test: operator reset the coordinator',
        workflowTaskFinishEventId: resetPoint,
        requestId: newId('reset'),
        ...(reapplied === 'none'
          ? { resetReapplyType: temporal.api.enums.v1.ResetReapplyType.RESET_REAPPLY_TYPE_NONE }
          : {}),
      });
      // The reset coordinator lost both runs; the queued one notices, and its re-admission recovers the held one first.
      const c = await until(
        'the reset coordinator listing both',
        () =>
          s.t.client.workflow.getHandle(coordinatorWorkflowId(p.projectId), reset.runId).query(coordinatorStateQuery),
        (x) => x.active !== null && x.queued.length > 0,
      );
      expect(c).toMatchObject({ active: held.workflowId, queued: [queued] });
      expect(await s.client.getProgress(queued)).toMatchObject({ queued: true, steps: [] });
      const later =
        reapplied === 'updates' ? await s.client.startPromotion({ projectId: p.projectId, dryRun: true }) : null;

      await s.client.approve(held.workflowId, 'alice');
      expect((await held.result()).outcome).toBe('promoted');
      expect(((await s.t.client.workflow.getHandle(queued).result()) as PromoteResult).outcome).toBe('dry_run');
      await expectStepsAfter(held.workflowId, queued);
      if (later) {
        expect((await later.result()).outcome).toBe('dry_run');
        await expectStepsAfter(held.workflowId, later.workflowId);
        await expectStepsAfter(queued, later.workflowId);
      }
    });
  },
);

test.each(['direct', 'child'] as const)(
  'a %s run reset while it holds the project keeps holding it: the run behind waits for the reset run',
  async (how) => {
    const worker = await s.worker();
    await worker.runUntil(async () => {
      const p = await projectWithChange(s);
      await until(
        'setup to be done',
        () => coordinatorState(p.projectId),
        (c) => c.active === null,
      );
      const approval = { required: true as const, timeout: '1h' };
      const held =
        how === 'direct'
          ? await s.t.client.workflow.start('promote', {
              taskQueue: s.t.taskQueue,
              workflowId: newId('held-direct'),
              args: [{ projectId: p.projectId, approval }],
            })
          : s.t.client.workflow.getHandle(
              (await s.client.startPromotion({ projectId: p.projectId, approval })).workflowId,
            );
      await until(
        'the held run at approval',
        () => s.client.getProgress(held.workflowId),
        (x) => x.currentStep === 'approval',
      );
      const behind = await s.client.startPromotion({ projectId: p.projectId, dryRun: true });
      expect(behind.position).toBe(1);

      // An operator resets the held run to its last workflow task: the old run ends, the new one waits for approval.
      const events = (await held.fetchHistory()).events ?? [];
      const lastTask = events.filter((e) => e.workflowTaskCompletedEventAttributes).at(-1)!;
      const reset = await s.t.client.workflowService.resetWorkflowExecution({
        namespace: s.t.namespace,
        workflowExecution: { workflowId: held.workflowId },
        reason: 'test: operator reset',
        workflowTaskFinishEventId: lastTask.eventId,
        requestId: newId('reset'),
      });
      const resetRun = s.t.client.workflow.getHandle(held.workflowId, reset.runId);
      await until(
        'the reset run at approval',
        () => resetRun.query(progressQuery),
        (x) => x.currentStep === 'approval',
      );

      await s.client.approve(held.workflowId, 'alice');
      expect(((await resetRun.result()) as PromoteResult).outcome).toBe('promoted');
      expect((await behind.result()).outcome).toBe('dry_run');
      // The run behind ran only once the reset run had ended.
      await expectStepsAfter(held.workflowId, behind.workflowId);
    });
  },
);

test('a direct start whose workflow ID the coordinator refuses ends with outcome refused and the reason', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const p = await seedProd(s.emu, 1);
    const from = s.emu.requestLog().length;
    const run = await s.t.client.workflow.start('refreshDev', {
      taskQueue: s.t.taskQueue,
      workflowId: `direct-${'x'.repeat(200)}`,
      args: [{ projectId: p.projectId }],
    });
    const err: unknown = await run.result().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause.type).toBe('InvalidInput');
    expect(cause.nonRetryable).toBe(true);
    expect(cause.message).toMatch(/workflowId: 1-200 characters/);
    const progress = await s.client.getProgress(run.workflowId);
    expect(progress).toMatchObject({ outcome: 'refused', queued: false, steps: [] });
    expect(progress.reason).toMatch(/refused to admit this run: .*workflowId: 1-200 characters/);
    expect(
      s.emu
        .requestLog()
        .slice(from)
        .filter((r) => r.method !== 'GET' && r.path.includes(p.projectId)),
    ).toEqual([]);
  });
});
