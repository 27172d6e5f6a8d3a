/**
 * Neon's rules where the workflows handle them (src/workflows/steps): prod and dev must be root branches (Neon snapshots
 * root branches only), and a candidate that reads `detaching` after an interrupted swap may be prod already. Here with
 * the workflows, the Temporal test server and the emulator, because the activities only report what Neon says.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { seedProject, waitForOperations } from '../../../tools/emulator';
import { api, branchId, inventory, uriOf } from '../../support/emulator-api';
import { neonActivities, projectWithChange, sourceOf, type Stack, startStack } from '../../support/workflow-stack';

let s: Stack;
beforeAll(async () => {
  // A finalized restore reads `detaching` for the whole test.
  s = await startStack(__filename, { detachingMs: { afterFinalize: 600_000 } });
});
afterAll(async () => s?.stop());

/** Prod, and a branch called dev made as a child of it (not by setup: Neon cannot snapshot it). */
async function projectWithChildDev() {
  const p = await seedProject(s.emu, { name: 'wf', rows: 2, source: 'prod', branchName: 'prod' });
  const dev = await api(s.emu, 'POST', `/projects/${p.projectId}/branches`, {
    branch: { name: 'dev', parent_id: p.branchId },
    endpoints: [{ type: 'read_write' }],
  });
  await waitForOperations(s.emu, p.projectId, dev.operations as { id: string }[]);
  return p;
}

test('a promotion whose dev is a child branch is refused before anything changes at Neon', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const p = await projectWithChildDev();
    const before = await inventory(s.emu, p.projectId);
    s.emu.resetRequestLog();
    const err = await (await s.client.startPromotion({ projectId: p.projectId })).result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause).toMatchObject({ type: 'NotARootBranch', nonRetryable: true });
    expect((err as WorkflowFailedError).cause?.message).toContain('"dev"');
    const changes = s.emu.requestLog().filter((entry) => entry.method !== 'GET' && entry.path.includes(p.projectId));
    expect(changes).toEqual([]);
    expect(await inventory(s.emu, p.projectId)).toEqual(before);
  });
}, 180_000);

test('setup refuses a dev that exists as a child branch instead of reporting it set up', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const p = await projectWithChildDev();
    const err = await (await s.client.startSetup({ projectId: p.projectId })).result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause).toMatchObject({ type: 'NotARootBranch', nonRetryable: true });
  });
}, 180_000);

test('a swap whose finalize happened but failed to report, the candidate reading detaching: prod is rolled back, not deleted', async () => {
  const real = neonActivities(s.emu);
  let finalizes = 0;
  const worker = await s.worker({
    ...real,
    // Neon finalized the candidate in prod's place; the step then failed for good before it could say so.
    finalizeRestore: async (input: Parameters<typeof real.finalizeRestore>[0]) => {
      const done = await real.finalizeRestore(input);
      if (finalizes++ === 0)
        throw ApplicationFailure.create({ type: 'NeonBadRequest', nonRetryable: true, message: 'response lost' });
      return done;
    },
  });
  await worker.runUntil(async () => {
    const p = await projectWithChange(s);
    const run = await s.client.startPromotion({ projectId: p.projectId });
    const err = await run.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const progress = await s.client.getProgress(run.workflowId);
    const candidateBranchId = progress.steps.find((step) => step.name === 'restore_candidate')!.ids.branchId;
    // The candidate took prod's place (and read detaching from then on): the run knew it swapped and rolled back.
    expect(progress.outcome).toBe('failed');
    expect(progress.reason).toContain('prod rolled back');
    expect(await sourceOf(p.connectionUri)).toEqual(['prod']);
    expect(await sourceOf(await uriOf(s.emu, p, 'prod'))).toEqual(['prod']);
    expect(await branchId(s.emu, p.projectId, 'prod')).not.toBe(candidateBranchId);
  });
}, 300_000);
