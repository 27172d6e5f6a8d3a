/**
 * Runs started directly (as the Temporal UI or `temporal workflow start` would, past NeonPromoteClient) are admitted by
 * the project's coordinator like any other run: they wait their turn or are refused, and a terminated one does not
 * hold the project.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { PromoteResult } from '../../../src/workflows';
import { coordinatorWorkflowId } from '../../../src/workflows/contract/definitions';
import { maybeRecordHistory } from '../../support/histories';
import { until } from '../../support/polling';
import { projectWithChange, runWatch, seedProd, sourceOf, type Stack, startStack } from '../../support/workflow-stack';

let s: Stack;
const { coordinatorState, expectStepsAfter } = runWatch(() => s);
beforeAll(async () => {
  s = await startStack(__filename);
});
afterAll(async () => {
  await s?.stop();
});

let seq = 0;
/** Starts a workflow the way the Temporal UI does: by type, on the task queue, with no coordinator involved. */
function startDirectly(type: string, input: Record<string, unknown>) {
  return s.t.client.workflow.start(type, {
    taskQueue: s.t.taskQueue,
    workflowId: `direct-${type}-${Date.now()}-${seq++}`,
    args: [input],
  });
}

const waitForStep = (workflowId: string, step: string) =>
  until(
    `${workflowId} at ${step}`,
    () => s.client.getProgress(workflowId),
    (p) => p.currentStep === step,
  );

/** Mutating Neon calls on the project since log position `from`. */
const mutationsSince = (from: number, projectId: string) =>
  s.emu
    .requestLog()
    .slice(from)
    .filter((r) => r.method !== 'GET' && r.path.includes(projectId));

async function failureOf(result: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await result.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return cause as ApplicationFailure;
}

const approval = { required: true as const, timeout: '1h' };

test('a promotion started directly waits behind a run the client started and never overlaps it; with ifBusy refuse it is refused', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const p = await projectWithChange(s);
    const first = await s.client.startPromotion({ projectId: p.projectId, approval });
    await waitForStep(first.workflowId, 'approval'); // holds the project: its candidate snapshot exists

    // Asked to be refused: it ends at once, naming the active run, and changes nothing at Neon.
    const from = s.emu.requestLog().length;
    const refused = await startDirectly('promote', { projectId: p.projectId, ifBusy: 'refuse' });
    const failure = await failureOf(refused.result());
    expect(failure.type).toBe('ProjectBusy');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain(`${first.workflowId} is running`);
    expect(await s.client.getProgress(refused.workflowId)).toMatchObject({ outcome: 'refused', steps: [] });
    expect(mutationsSince(from, p.projectId)).toEqual([]);

    // Willing to wait (the default): queued behind the first, touching nothing until its turn.
    const direct = await startDirectly('promote', { projectId: p.projectId });
    await until(
      'the direct run to be queued',
      () => coordinatorState(p.projectId),
      (c) => c.queued.includes(direct.workflowId),
    );
    expect(await coordinatorState(p.projectId)).toMatchObject({
      active: first.workflowId,
      queued: [direct.workflowId],
    });
    expect(await s.client.getProgress(direct.workflowId)).toMatchObject({ queued: true, steps: [] });
    // A client-started run asking to be refused sees the direct run as part of the queue.
    await expect(s.client.startPromotion({ projectId: p.projectId }, { ifBusy: 'refuse' })).rejects.toThrow(/busy/);

    await s.client.approve(first.workflowId, 'alice');
    const [a, b] = [await first.result(), (await direct.result()) as PromoteResult];
    expect([a.outcome, b.outcome]).toEqual(['promoted', 'promoted']);
    // The direct run planned only after the first had ended: it found the first's prod.
    expect(b.prodBranchId.before).toBe(a.prodBranchId.after);
    await expectStepsAfter(first.workflowId, direct.workflowId);
    expect(await sourceOf(p.connectionUri)).toEqual(['dev']);
    await until(
      'the coordinator to be idle',
      () => coordinatorState(p.projectId),
      (c) => c.active === null,
    );
    await maybeRecordHistory(direct, 'promote-direct');
    await maybeRecordHistory(s.t.client.workflow.getHandle(coordinatorWorkflowId(p.projectId)), 'coordinator-direct');
  });
});

test('a direct run terminated while it holds the project, or while it waits, does not wedge the coordinator', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const p = await projectWithChange(s);
    await until(
      'setup to be done',
      () => coordinatorState(p.projectId),
      (c) => c.active === null,
    );

    // Holding the project (idle before, so it went first) when it is terminated: it cannot report its end itself.
    const held = await startDirectly('promote', { projectId: p.projectId, approval });
    await waitForStep(held.workflowId, 'approval');
    const behind = await s.client.startPromotion({ projectId: p.projectId, dryRun: true });
    expect(behind.position).toBe(1);
    expect(await s.client.getProgress(behind.workflowId)).toMatchObject({ queued: true, steps: [] });
    await held.terminate('test: a run that never reports back');
    expect((await behind.result()).outcome).toBe('dry_run');

    // Waiting in the queue when it is terminated: the coordinator skips it when its turn comes.
    const active = await s.client.startPromotion({ projectId: p.projectId, approval });
    await waitForStep(active.workflowId, 'approval');
    const waiting = await startDirectly('promote', { projectId: p.projectId, dryRun: true });
    await until(
      'the direct run to be queued',
      () => coordinatorState(p.projectId),
      (c) => c.queued.includes(waiting.workflowId),
    );
    await waiting.terminate('test: terminated while queued');
    const last = await s.client.startPromotion({ projectId: p.projectId, dryRun: true });
    await s.client.reject(active.workflowId, 'bob');
    expect((await active.result()).outcome).toBe('aborted');
    expect((await last.result()).outcome).toBe('dry_run');
    const c = await until(
      'the coordinator to be idle',
      () => coordinatorState(p.projectId),
      (x) => x.active === null,
    );
    expect(c.queued).toEqual([]);
  });
});

test('two runs started directly, a promotion and a dev refresh, go one after the other', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const p = await projectWithChange(s);
    const promotion = await startDirectly('promote', { projectId: p.projectId, approval });
    await waitForStep(promotion.workflowId, 'approval');
    const refresh = await startDirectly('refreshDev', { projectId: p.projectId });
    const c = await until(
      'the refresh to be queued',
      () => coordinatorState(p.projectId),
      (x) => x.queued.includes(refresh.workflowId),
    );
    expect(c.active).toBe(promotion.workflowId);
    expect(await s.client.getProgress(refresh.workflowId)).toMatchObject({ queued: true, steps: [] });
    await s.client.approve(promotion.workflowId, 'carol');
    expect(((await promotion.result()) as PromoteResult).outcome).toBe('promoted');
    expect(((await refresh.result()) as { outcome: string }).outcome).toBe('refreshed');
    await expectStepsAfter(promotion.workflowId, refresh.workflowId);
  });
});

test('invalid input to a directly started run fails at once, before admission and before any Neon call', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const p = await seedProd(s.emu, 1);
    const from = s.emu.requestLog().length;
    const badCheck = await startDirectly('promote', { projectId: p.projectId, checks: [{ kind: 'nope' }] });
    expect((await failureOf(badCheck.result())).type).toBe('InvalidInput');
    const badIfBusy = await startDirectly('refreshDev', { projectId: p.projectId, ifBusy: 'later' });
    const failure = await failureOf(badIfBusy.result());
    expect(failure.type).toBe('InvalidInput');
    expect(failure.message).toMatch(/ifBusy/);
    const badWait = await startDirectly('rollback', { projectId: p.projectId, turnCheckSeconds: 0 });
    const failure2 = await failureOf(badWait.result());
    expect(failure2.type).toBe('InvalidInput');
    expect(failure2.message).toMatch(/turnCheckSeconds/);
    expect(mutationsSince(from, p.projectId)).toEqual([]);
    // Never admitted: no coordinator was started for the project.
    await expect(s.t.client.workflow.getHandle(coordinatorWorkflowId(p.projectId)).describe()).rejects.toThrow(
      /not found/i,
    );
  });
});
