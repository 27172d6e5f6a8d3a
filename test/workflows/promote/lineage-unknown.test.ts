/**
 * A promotion that fails while its candidate exists reads the candidate's lineage to learn whether the swap happened.
 * When that read fails too (here: the key stops being authorized), the compensations still run: the fence is lifted
 * and the run's resources are cleaned up, except that after the swap started, the candidate branch (perhaps prod now)
 * and the rollback snapshot (the way back) are kept and the run's reason says so.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { SeededProject } from '../../../tools/emulator';
import { resourceName } from '../../../src/workflows/contract/names';
import { branchId, inventory } from '../../support/emulator-api';
import { sql } from '../../support/postgres';
import { neonActivities, projectWithChange, sourceOf, type Stack, startStack } from '../../support/workflow-stack';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename);
});
afterAll(async () => s?.stop());

const unauthorized = () =>
  ApplicationFailure.create({ type: 'NeonUnauthorized', nonRetryable: true, message: 'the API key was revoked' });

/**
 * The Neon activities, with the lineage read (getBranch) failing once `revoke()` was called: the key is revoked
 * between the step that fails and the read that follows it.
 */
function activitiesWithRevocableLineage() {
  const real = neonActivities(s.emu);
  let revoked = false;
  return {
    real,
    revoke: () => void (revoked = true),
    activities: {
      ...real,
      getBranch: async (input: Parameters<typeof real.getBranch>[0]) => {
        if (revoked) throw unauthorized();
        return real.getBranch(input);
      },
    },
  };
}

/** Whether prod (through its unchanged connection string) takes a write: false while a fence is up. */
async function prodTakesWrites(p: SeededProject): Promise<boolean> {
  try {
    await sql(p.connectionUri, `INSERT INTO items (label, source) VALUES ('probe', 'prod')`);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === '25006') return false;
    throw err;
  }
}

/** The failure chain of a run that failed: each failure's class and type, outermost first. */
async function failureChain(result: Promise<unknown>): Promise<string[]> {
  const err = await result.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const chain: string[] = [];
  for (let failure = (err as Error).cause; failure instanceof Error; failure = failure.cause)
    chain.push(failure instanceof ApplicationFailure ? `${failure.name} ${failure.type}` : failure.name);
  return chain;
}

test('before the swap: the lineage read fails, yet the fence is lifted and everything the run made is gone', async () => {
  const lineage = activitiesWithRevocableLineage();
  const worker = await s.worker({
    ...lineage.activities,
    // The last write check before the swap fails for good, with prod fenced.
    recordWritePosition: async (input: Parameters<typeof lineage.real.recordWritePosition>[0]) => {
      if (!input.since) return lineage.real.recordWritePosition(input);
      lineage.revoke();
      throw unauthorized();
    },
  });
  await worker.runUntil(async () => {
    const p = await projectWithChange(s);
    const before = await inventory(s.emu, p.projectId);
    const run = await s.client.startPromotion({ projectId: p.projectId });
    expect(await failureChain(run.result())).toContain('ApplicationFailure NeonUnauthorized');
    expect(await prodTakesWrites(p)).toBe(true);
    expect(await sourceOf(p.connectionUri)).toEqual(['prod']);
    expect(await inventory(s.emu, p.projectId)).toEqual(before);
    const progress = await s.client.getProgress(run.workflowId);
    expect(progress.outcome).toBe('failed');
    expect(progress.reason).not.toMatch(/kept the candidate/);
  });
}, 180_000);

test('in the swap: the lineage read fails, so the candidate (prod now) and the rollback snapshot are kept', async () => {
  const lineage = activitiesWithRevocableLineage();
  const worker = await s.worker({
    ...lineage.activities,
    // Neon finalized the candidate in prod's place, then the step failed for good before it could say so.
    finalizeRestore: async (input: Parameters<typeof lineage.real.finalizeRestore>[0]) => {
      await lineage.real.finalizeRestore(input);
      lineage.revoke();
      throw unauthorized();
    },
  });
  await worker.runUntil(async () => {
    const p = await projectWithChange(s);
    const [forkPoint] = (await inventory(s.emu, p.projectId)).snapshots;
    const run = await s.client.startPromotion({ projectId: p.projectId });
    expect(await failureChain(run.result())).toContain('ApplicationFailure NeonUnauthorized');
    const progress = await s.client.getProgress(run.workflowId);
    const candidateBranchId = progress.steps.find((step) => step.name === 'restore_candidate')!.ids.branchId;
    const rollbackSnapshotId = progress.steps.find((step) => step.name === 'snapshot_prod')!.ids.snapshotId;
    // Prod serves the candidate, which is still there; the way back is still there; the rest is cleaned up (the fork
    // point is adopted only at a promotion's clean-up: setup's stays).
    expect(await branchId(s.emu, p.projectId, 'prod')).toBe(candidateBranchId);
    expect(await sourceOf(p.connectionUri)).toEqual(['dev']);
    expect(await prodTakesWrites(p)).toBe(true);
    const { branches, snapshots } = await inventory(s.emu, p.projectId);
    expect(branches.map((branch) => branch.name).sort()).toEqual(['dev', resourceName('old', run.workflowId), 'prod']);
    expect(forkPoint!.name).toMatch(/^np-fork-setup-/);
    expect(snapshots.map((snapshot) => snapshot.id)).toEqual([forkPoint!.id, rollbackSnapshotId]);
    expect(progress.outcome).toBe('failed');
    expect(progress.reason).toContain(`kept the candidate branch ${candidateBranchId}`);
    expect(progress.reason).toContain(`the rollback snapshot ${rollbackSnapshotId}`);
  });
}, 180_000);
