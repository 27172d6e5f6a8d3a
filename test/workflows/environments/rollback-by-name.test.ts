import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { waitForOperations } from '../../../tools/emulator';
import { api, inventory } from '../../support/emulator-api';
import { neonActivities, projectWithChange, sourceOf, type Stack, startStack } from '../../support/workflow-stack';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename);
});
afterAll(async () => s?.stop());

/** A snapshot of prod taken now under `name`, as anyone with the project's API key can take one. */
async function snapshotOfProd(projectId: string, prodBranchId: string, name: string): Promise<string> {
  const path = `/projects/${projectId}/branches/${prodBranchId}/snapshot?${new URLSearchParams({ name }).toString()}`;
  const { snapshot, operations } = (await api(s.emu, 'POST', path)) as {
    snapshot: { id: string };
    operations: { id: string }[];
  };
  await waitForOperations(s.emu, projectId, operations);
  return snapshot.id;
}

test('a rollback to a name that several snapshots carry is refused, naming them, and prod is untouched', async () => {
  // Neon's CLI documents snapshot names as unique in a project, and the emulator refuses a second one; the API
  // reference does not say so. Should a listing ever hold two, the rollback must refuse: the listing is made to.
  const real = neonActivities(s.emu);
  const worker = await s.worker({
    ...real,
    resolveEnvironment: async (input: Parameters<typeof real.resolveEnvironment>[0]) => {
      const env = await real.resolveEnvironment(input);
      const named = (name: string) => (name === 'before-release-2' ? 'before-release' : name);
      return { ...env, snapshots: env.snapshots.map((snapshot) => ({ ...snapshot, name: named(snapshot.name) })) };
    },
  });
  await worker.runUntil(async () => {
    const p = await projectWithChange(s);
    const first = await snapshotOfProd(p.projectId, p.branchId, 'before-release');
    const second = await snapshotOfProd(p.projectId, p.branchId, 'before-release-2');
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
