import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { api, inventory } from '../../support/emulator-api';
import { projectWithChange, sourceOf, type Stack, startStack } from '../../support/workflow-stack';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename);
});
afterAll(async () => s?.stop());

/** A snapshot of prod taken now under `name`, as anyone with the project's API key can take one. */
async function snapshotOfProd(projectId: string, prodBranchId: string, name: string): Promise<string> {
  const path = `/projects/${projectId}/branches/${prodBranchId}/snapshot?${new URLSearchParams({ name }).toString()}`;
  const { snapshot } = (await api(s.emu, 'POST', path)) as { snapshot: { id: string } };
  return snapshot.id;
}

test('a rollback to a name that several snapshots carry is refused, naming them, and prod is untouched', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const p = await projectWithChange(s);
    const first = await snapshotOfProd(p.projectId, p.branchId, 'before-release');
    const second = await snapshotOfProd(p.projectId, p.branchId, 'before-release');
    const before = await inventory(s.emu, p.projectId);

    const run = await s.client.startRollback({ projectId: p.projectId, snapshotName: 'before-release' });
    const err = await run.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause).toMatchObject({ type: 'SnapshotAmbiguous', nonRetryable: true });
    expect(cause?.message).toContain('2 snapshots named before-release');
    expect(cause?.message).toContain(first);
    expect(cause?.message).toContain(second);

    const after = await inventory(s.emu, p.projectId);
    expect(after.branches.map((b) => [b.id, b.name]).sort()).toEqual(before.branches.map((b) => [b.id, b.name]).sort());
    expect(await sourceOf(p.connectionUri)).toEqual(['prod']);
  });
});
