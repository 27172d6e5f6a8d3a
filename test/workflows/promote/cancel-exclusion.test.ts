import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { ProjectBusyError } from '../../../src/client';
import type { PromoteResult, StepRecord } from '../../../src/workflows';
import { coordinatorStateQuery, coordinatorWorkflowId } from '../../../src/workflows/contract/definitions';
import { resourceName } from '../../../src/workflows/contract/names';
import { maybeRecordHistory } from '../../support/histories';
import { startHoldServer } from '../../support/hold-server';
import { branchId, inventory } from '../../support/emulator-api';
import { projectWithChange, sourceOf, type Stack, startStack } from '../../support/workflow-stack';

let s: Stack;
let hold: Awaited<ReturnType<typeof startHoldServer>>;
beforeAll(async () => {
  [s, hold] = await Promise.all([startStack(__filename), startHoldServer()]);
});
afterAll(async () => {
  await hold?.stop();
  await s?.stop();
});

/** Client-side polling of the progress query until the run is in `step`. */
async function waitForStep(workflowId: string, step: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if ((await s.client.getProgress(workflowId)).currentStep === step) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${workflowId} never reached ${step}`);
}

async function expectCancelled(result: Promise<unknown>): Promise<void> {
  const err = await result.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
}

test("cancelled before the swap: prod untouched, the run's snapshots and branch cleaned up", async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const p = await projectWithChange(s);
    const before = await inventory(s.emu, p.projectId);
    const run = await s.client.startPromotion({ projectId: p.projectId, checks: [hold.check] });
    // Inside verify_candidate: the candidate's snapshot and branch exist, and the fork point restored next to prod.
    await hold.reached();
    const during = await inventory(s.emu, p.projectId);
    expect(during.branches.map((branch) => branch.name).sort()).toEqual(
      ['dev', resourceName('base', run.workflowId), resourceName('candidate', run.workflowId), 'prod'].sort(),
    );
    expect(during.snapshots.map((snapshot) => snapshot.name).sort()).toEqual(
      [...before.snapshots.map((snapshot) => snapshot.name), resourceName('candidate', run.workflowId)].sort(),
    );
    await s.client.cancel(run.workflowId);
    await expectCancelled(run.result());
    expect(await inventory(s.emu, p.projectId)).toEqual(before);
    expect(await sourceOf(p.connectionUri)).toEqual(['prod']);
    expect((await s.client.getProgress(run.workflowId)).outcome).toBe('cancelled');
    await maybeRecordHistory(run.handle, 'promote-cancelled-before-swap');
  });
});

test('cancelled after the swap: prod is rolled back to its pre-promotion data', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const p = await projectWithChange(s);
    const [forkPoint] = (await inventory(s.emu, p.projectId)).snapshots;
    const run = await s.client.startPromotion({ projectId: p.projectId, postSwapChecks: [hold.check] });
    await hold.reached(); // inside verify_prod: prod serves the candidate now
    expect(await sourceOf(p.connectionUri)).toEqual(['dev']);
    await s.client.cancel(run.workflowId);
    await expectCancelled(run.result());
    expect(await sourceOf(p.connectionUri)).toEqual(['prod']);
    const progress = await s.client.getProgress(run.workflowId);
    expect(progress.steps.map((x: StepRecord) => x.name)).toEqual(expect.arrayContaining(['swap', 'roll_back']));
    expect(progress.outcome).toBe('cancelled');
    // Prod is back at a state dev was forked from: setup's fork point stays, the candidate's snapshot is gone.
    const rollbackSnapshotId = progress.steps.find((x) => x.name === 'snapshot_prod')!.ids.snapshotId;
    const inv = await inventory(s.emu, p.projectId);
    expect(inv.snapshots.map(({ id, name }) => ({ id, name })).sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { id: forkPoint!.id, name: forkPoint!.name },
      { id: rollbackSnapshotId, name: resourceName('rollback', run.workflowId) },
    ]);
    expect(forkPoint!.name).toMatch(/^np-fork-setup-/);
  });
});

test('runs of one project never overlap: a busy project refuses or queues as asked; cancelling the active run lets the next go', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const p = await projectWithChange(s);
    const coordinator = s.t.client.workflow.getHandle(coordinatorWorkflowId(p.projectId));
    // The coordinator notices the setup run's end in its next task: wait for that, so positions start at 0.
    for (let i = 0; i < 100 && (await coordinator.query(coordinatorStateQuery)).active !== null; i++)
      await new Promise((r) => setTimeout(r, 50));
    // Two promotions at the same moment, both willing to wait; each stops at its approval gate until approved.
    const approval = { required: true as const, timeout: '1h' };
    const [a, b] = await Promise.all([
      s.client.startPromotion({ projectId: p.projectId, approval }),
      s.client.startPromotion({ projectId: p.projectId, approval }),
    ]);
    expect([a.position, b.position].sort()).toEqual([0, 1]);
    const [first, second] = a.position === 0 ? [a, b] : [b, a];
    await waitForStep(first.workflowId, 'approval');
    // A third that asked to be refused is refused at once, naming the active run.
    const refused = await s.client
      .startPromotion({ projectId: p.projectId }, { ifBusy: 'refuse' })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ProjectBusyError);
    expect((refused as ProjectBusyError).activeWorkflowId).toBe(first.workflowId);
    expect(await coordinator.query(coordinatorStateQuery)).toMatchObject({
      active: first.workflowId,
      queued: [second.workflowId],
    });
    // The second has not touched anything: it waits for its turn.
    expect(await s.client.getProgress(second.workflowId)).toMatchObject({ queued: true, steps: [] });
    await s.client.approve(first.workflowId, 'alice');
    await waitForStep(second.workflowId, 'approval');
    await s.client.approve(second.workflowId, 'bob');
    const results = [await first.result(), await second.result()] as PromoteResult[];
    expect(results.map((r) => r.outcome)).toEqual(['promoted', 'promoted']);
    // The second planned (resolved prod by name) only after the first had finished, so it saw the first's prod.
    expect(results[1]!.prodBranchId.before).toBe(results[0]!.prodBranchId.after);
    const [pa, pb] = await Promise.all([
      s.client.getProgress(first.workflowId),
      s.client.getProgress(second.workflowId),
    ]);
    expect(pb.steps.find((x) => x.name === 'plan')!.startedAt >= pa.steps.at(-1)!.endedAt!).toBe(true);

    // Cancelling the active run while another waits: the waiting one then runs.
    const held = await s.client.startPromotion({ projectId: p.projectId, approval: { required: true } });
    const next = await s.client.startPromotion({ projectId: p.projectId, dryRun: true });
    expect(next.position).toBe(1);
    await s.client.cancel(held.workflowId);
    await expectCancelled(held.result());
    expect((await next.result()).outcome).toBe('dry_run');
    expect(await branchId(s.emu, p.projectId, 'prod')).toBe(results[1]!.prodBranchId.after);
  });
});

test('approval: the run waits for a decision carrying who approved; an early decision is refused', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const p = await projectWithChange(s);
    const run = await s.client.startPromotion({ projectId: p.projectId, approval: { required: true, timeout: '1h' } });
    await expect(s.client.approve(run.workflowId, 'early')).rejects.toThrow();
    await waitForStep(run.workflowId, 'approval');
    expect(await s.client.approve(run.workflowId, 'alice', 'looks good')).toMatchObject({
      approved: true,
      by: 'alice',
    });
    const r = await run.result();
    expect(r).toMatchObject({ outcome: 'promoted', approval: { approved: true, by: 'alice', comment: 'looks good' } });
    await expect(s.client.approve(run.workflowId, 'bob')).rejects.toThrow();
    await maybeRecordHistory(run.handle, 'promote-approved');
    await maybeRecordHistory(s.t.client.workflow.getHandle(coordinatorWorkflowId(p.projectId)), 'project-coordinator');
  });
});
