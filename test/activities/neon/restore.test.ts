import { type Harness, startHarness } from '../../support/activity-harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.stop());

/** A project with a snapshot of main, everything settled. */
async function projectWithSnapshot(name = 'np-wf-candidate') {
  const p = await h.createProject();
  const snap = await h.run(h.activities.ensureSnapshot, { projectId: p.projectId, branchId: p.branchId, name });
  await h.run(h.activities.waitForOperations, { projectId: p.projectId, operationIds: snap.operationIds });
  return { ...p, snapshotId: snap.snapshot.id };
}

const RESTORE = 'POST /projects/{project_id}/snapshots/{snapshot_id}/restore';
const FINALIZE = 'POST /projects/{project_id}/branches/{branch_id}/finalize_restore';

describe('restore activities against the emulator', () => {
  it('preview restore, then finalize: the preview takes the target name and endpoints, the target becomes "(old)"', async () => {
    const { projectId, branchId, endpointId, snapshotId } = await projectWithSnapshot();
    const input = { projectId, snapshotId, targetBranchId: branchId, finalize: false, name: 'np-wf-preview' };
    const preview = await h.run(h.activities.restoreSnapshot, input);
    expect(preview).toMatchObject({ alreadyDone: false, branch: { name: 'np-wf-preview', restoredFrom: snapshotId } });
    expect(preview.branch.id).not.toBe(branchId);
    await h.run(h.activities.waitForOperations, { projectId, operationIds: preview.operationIds });

    const again = await h.run(h.activities.restoreSnapshot, input, 2);
    expect(again).toMatchObject({ alreadyDone: true, operationIds: [], branch: { id: preview.branch.id } });

    const fin = { projectId, branchId: preview.branch.id, oldBranchName: 'main (old np-wf)' };
    const done = await h.run(h.activities.finalizeRestore, fin);
    expect(done).toMatchObject({ alreadyDone: false, branchId: preview.branch.id, replacedBranchId: branchId });
    await h.run(h.activities.waitForOperations, { projectId, operationIds: done.operationIds });
    expect(await h.run(h.activities.finalizeRestore, fin, 2)).toMatchObject({ alreadyDone: true, operationIds: [] });

    const env = await h.run(h.activities.resolveEnvironment, {
      projectId,
      prodBranchName: 'main',
      devBranchName: 'dev',
    });
    // Finalized, perhaps still detaching for a while (the emulator's default after a finalize).
    expect(env.prod).toMatchObject({ id: preview.branch.id, restoredAs: branchId });
    expect(['finalized', 'detaching']).toContain(env.prod?.restoreStatus);
    // Connection strings stay valid because the endpoint moved with the name.
    expect(env.prod?.endpoints.map((e) => e.id)).toEqual([endpointId]);
    expect(env.branches.find((b) => b.id === branchId)?.name).toBe('main (old np-wf)');
    // A restore repeated after the finalize still recognises its own work by lineage.
    expect(await h.run(h.activities.restoreSnapshot, input, 3)).toMatchObject({
      alreadyDone: true,
      branch: { id: preview.branch.id },
    });
  });

  it('restore with finalize, run twice, swaps once', async () => {
    const { projectId, branchId, snapshotId } = await projectWithSnapshot();
    const input = { projectId, snapshotId, targetBranchId: branchId, finalize: true };
    const counts = await h.countCalls(async () => {
      const first = await h.run(h.activities.restoreSnapshot, input);
      await h.run(h.activities.waitForOperations, { projectId, operationIds: first.operationIds });
      const second = await h.run(h.activities.restoreSnapshot, input, 2);
      expect(second).toMatchObject({ alreadyDone: true, branch: { id: first.branch.id, name: 'main' } });
    });
    expect(counts[RESTORE]).toBe(1);
    const branches = await h.run(h.activities.listBranches, { projectId });
    expect(branches.filter((b) => b.restoredFrom === snapshotId)).toHaveLength(1);
    expect(branches.filter((b) => b.name === 'main')).toHaveLength(1);
  });

  it.each([false, true])(
    'a lost restore response (finalize %s), then the retry, leaves exactly one restore',
    async (finalize) => {
      const { projectId, branchId, snapshotId } = await projectWithSnapshot();
      h.emu.setFaults({ rules: [{ kind: 'response_lost', route: RESTORE, times: 1 }] });
      const input = { projectId, snapshotId, targetBranchId: branchId, finalize, name: 'np-wf-restored' };
      const lost = await h.run(h.activities.restoreSnapshot, input).catch((e: unknown) => e);
      h.emu.setFaults({ rules: [] });
      expect(lost).toMatchObject({ type: 'NeonUnavailable', nonRetryable: false });

      const retry = await h.run(h.activities.restoreSnapshot, input, 2);
      expect(retry.alreadyDone).toBe(true);
      await h.run(h.activities.waitForOperations, { projectId, operationIds: retry.operationIds });
      const branches = await h.run(h.activities.listBranches, { projectId });
      expect(branches.filter((b) => b.restoredFrom === snapshotId)).toHaveLength(1);
      expect(h.emu.requestLog().filter((r) => r.route === RESTORE && r.path.includes(projectId))).toHaveLength(1);
    },
  );

  it('a lost finalize response, then the retry, finalizes once', async () => {
    const { projectId, branchId, snapshotId } = await projectWithSnapshot();
    const preview = await h.run(h.activities.restoreSnapshot, {
      projectId,
      snapshotId,
      targetBranchId: branchId,
      finalize: false,
    });
    await h.run(h.activities.waitForOperations, { projectId, operationIds: preview.operationIds });
    h.emu.resetRequestLog();
    h.emu.setFaults({ rules: [{ kind: 'response_lost', route: FINALIZE, times: 1 }] });
    const lost = await h
      .run(h.activities.finalizeRestore, { projectId, branchId: preview.branch.id })
      .catch((e: unknown) => e);
    h.emu.setFaults({ rules: [] });
    expect(lost).toMatchObject({ type: 'NeonUnavailable' });
    expect(await h.run(h.activities.finalizeRestore, { projectId, branchId: preview.branch.id }, 2)).toMatchObject({
      alreadyDone: true,
    });
    expect(h.emu.requestLog().filter((r) => r.route === FINALIZE)).toHaveLength(1);
  });

  it('restoring onto a branch that does not exist fails at once, non-retryable', async () => {
    const { projectId, snapshotId } = await projectWithSnapshot();
    const err = await h
      .run(h.activities.restoreSnapshot, { projectId, snapshotId, targetBranchId: 'br-gone-1', finalize: true })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ nonRetryable: true });
    expect(['NeonNotFound', 'NeonBadRequest']).toContain((err as { type: string }).type);
  });
});
