/**
 * How the Neon activities meet rules of Neon's API that the emulator enforces (tools/emulator/README.md): lists that
 * paginate, branches soft-deleted unless hard_delete, operations that end cancelled, skipped or after an error, and
 * restores that read `detaching`.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities, type WaitForOperationsResult } from '../../../src/activities';
import type { NeonClient, NeonOperation } from '../../../src/neon';
import { failureOf, type Harness, startHarness } from '../../support/activity-harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ branchPageSize: 5, detachingMs: { afterRestore: 60_000, afterFinalize: 60_000 } });
});
afterAll(() => h.stop());

const settle = (projectId: string, res: { operations?: unknown }) =>
  h.run(h.activities.waitForOperations, {
    projectId,
    operationIds: ((res.operations ?? []) as { id: string }[]).map((op) => op.id),
  });

/** A project with a snapshot of main, everything settled. */
async function projectWithSnapshot(name: string) {
  const p = await h.createProject();
  const snap = await h.run(h.activities.ensureSnapshot, { projectId: p.projectId, branchId: p.branchId, name });
  return { ...p, snapshotId: snap.snapshot.id };
}

const LIST = 'GET /projects/{project_id}/branches';
const FINALIZE = 'POST /projects/{project_id}/branches/{branch_id}/finalize_restore';

test('every page of the branch list is read: 31 branches in pages of 5', async () => {
  const { projectId, branchId } = await h.createProject();
  for (let i = 0; i < 30; i++)
    await settle(projectId, await h.api('POST', `/projects/${projectId}/branches`, { branch: { name: `b${i}` } }));
  let names: string[] = [];
  const counts = await h.countCalls(async () => {
    names = (await h.run(h.activities.listBranches, { projectId })).map((branch) => branch.name);
  });
  expect(counts[LIST]).toBe(7);
  expect(new Set(names)).toEqual(new Set(['main', ...Array.from({ length: 30 }, (_, i) => `b${i}`)]));
  // The oldest update (main) comes last in Neon's default order: found on the last page.
  const env = await h.run(h.activities.resolveEnvironment, { projectId, prodBranchName: 'main', devBranchName: 'b0' });
  expect(env.prod?.id).toBe(branchId);
  expect(env.dev?.name).toBe('b0');
  expect(env.branches).toHaveLength(31);
});

test('a deleted branch is gone at once (hard_delete), not kept recoverable', async () => {
  const { projectId, branchId } = await h.createProject();
  const child = await h.run(h.activities.createBranch, { projectId, name: 'temp', parentId: branchId });
  expect(await h.run(h.activities.deleteBranch, { projectId, branchId: child.branch.id })).toMatchObject({
    deleted: true,
  });
  const listed = (await h.api('GET', `/projects/${projectId}/branches?include_deleted=true`)).branches as {
    id: string;
  }[];
  expect(listed.map((branch) => branch.id)).toEqual([branchId]);
});

describe('operation statuses', () => {
  const BRANCHES = 'POST /projects/{project_id}/branches';
  afterEach(() => h.emu.setFaults({ rules: [] }));

  it('a cancelled operation fails the mutation (its work is undone); a skipped one completes it', async () => {
    const { projectId, branchId } = await h.createProject();
    h.emu.setFaults({ rules: [{ kind: 'cancel_operation', route: BRANCHES, times: 1 }] });
    const cancelled = await failureOf(h.run(h.activities.createBranch, { projectId, name: 'c', parentId: branchId }));
    expect(cancelled).toMatchObject({ type: 'OperationFailed', nonRetryable: true });
    expect(cancelled.message).toContain('cancelled');
    h.emu.setFaults({ rules: [{ kind: 'skip_operation', route: BRANCHES, times: 1 }] });
    const skipped = await h.run(h.activities.createBranch, { projectId, name: 's', parentId: branchId });
    expect(skipped.created).toBe(true);
    const names = (await h.run(h.activities.listBranches, { projectId })).map((branch) => branch.name).sort();
    expect(names).toEqual(['main', 's']);
  });

  it('an operation that goes through error (Neon retries it) and finishes completes the wait', async () => {
    // Slow operations, polled every 100 ms: the wait sees the error, which lasts a few hundred ms.
    const slow = await startHarness({ operationDelayMs: 2000 });
    try {
      const { projectId, branchId } = await slow.createProject();
      slow.emu.setFaults({ rules: [{ kind: 'operation_error', route: BRANCHES, times: 1 }] });
      const res = await slow.api('POST', `/projects/${projectId}/branches`, { branch: { parent_id: branchId } });
      const operationIds = (res.operations as { id: string }[]).map((op) => op.id);
      const waited = await slow.run(slow.activities.waitForOperations, {
        projectId,
        operationIds,
        maxPollIntervalMs: 100,
      });
      expect(waited.operations.map((op) => op.status)).toEqual(['finished']);
      const op = await slow.api('GET', `/projects/${projectId}/operations/${operationIds[0]}`);
      expect(op.operation).toMatchObject({ status: 'finished', failures_count: 1 });
    } finally {
      await slow.stop();
    }
  });

  /** A Neon whose one operation reports these statuses, one per poll, the last one from then on. */
  function neonReporting(statuses: string[]) {
    let polls = 0;
    const getOperation = (): Promise<NeonOperation> =>
      Promise.resolve({
        id: 'op-1',
        project_id: 'p-1',
        branch_id: null,
        endpoint_id: null,
        action: 'create_timeline',
        status: statuses[Math.min(polls++, statuses.length - 1)]!,
        error: null,
        failures_count: 0,
        created_at: '',
        updated_at: '',
        total_duration_ms: 1,
      });
    return { getOperation } as unknown as NeonClient;
  }
  const wait = (statuses: string[]): Promise<WaitForOperationsResult> =>
    new MockActivityEnvironment().run(createActivities({ neon: neonReporting(statuses) }).waitForOperations, {
      projectId: 'p-1',
      operationIds: ['op-1'],
      maxPollIntervalMs: 100,
    });

  it.each([
    [['running', 'error', 'running', 'finished'], 'finished'],
    [['scheduling', 'skipped'], 'skipped'],
  ])('%j: done', async (statuses, last) => {
    expect((await wait(statuses)).operations).toMatchObject([{ id: 'op-1', status: last }]);
  });

  it.each([[['running', 'cancelling', 'cancelled']], [['running', 'error', 'failed']]])(
    '%j: failed',
    async (statuses) => {
      expect(await failureOf(wait(statuses))).toMatchObject({ type: 'OperationFailed', nonRetryable: true });
    },
  );
});

describe('restores that read detaching', () => {
  it('a finalize repeated while the branch is detaching finds it done (renamed target) and sends nothing', async () => {
    const { projectId, branchId, snapshotId } = await projectWithSnapshot('np-d1');
    const preview = await h.run(h.activities.restoreSnapshot, {
      projectId,
      snapshotId,
      targetBranchId: branchId,
      finalize: false,
      name: 'np-d1-preview',
    });
    const fin = { projectId, branchId: preview.branch.id, oldBranchName: 'main (old np-d1)' };
    expect(await h.run(h.activities.finalizeRestore, fin)).toMatchObject({ alreadyDone: false });
    const counts = await h.countCalls(async () => {
      const again = await h.run(h.activities.finalizeRestore, fin, 2);
      expect(again).toMatchObject({ alreadyDone: true, replacedBranchId: branchId });
    });
    expect(counts[FINALIZE]).toBeUndefined();
    const branch = await h.run(h.activities.getBranch, { projectId, branchId: preview.branch.id });
    expect(branch).toMatchObject({ name: 'main', restoreStatus: 'detaching' });
  });

  it('a restore with finalize repeated while detaching finds it done (endpoints moved) and finalizes nothing', async () => {
    const { projectId, branchId, snapshotId } = await projectWithSnapshot('np-d2');
    const input = { projectId, snapshotId, targetBranchId: branchId, finalize: true };
    const first = await h.run(h.activities.restoreSnapshot, input);
    const counts = await h.countCalls(async () => {
      const again = await h.run(h.activities.restoreSnapshot, input, 2);
      expect(again).toMatchObject({ alreadyDone: true, branch: { id: first.branch.id, name: 'main' } });
    });
    expect(counts[FINALIZE]).toBeUndefined();
  });

  it('a restored branch that reads detaching is not taken for finalized: the finalize is sent', async () => {
    const { projectId, branchId, endpointId, snapshotId } = await projectWithSnapshot('np-d3');
    const preview = await h.run(h.activities.restoreSnapshot, {
      projectId,
      snapshotId,
      targetBranchId: branchId,
      finalize: false,
      name: 'np-d3-preview',
    });
    expect(preview.branch.restoreStatus).toBe('detaching');
    // A compute of its own, as a promotion's candidate has for its checks.
    await h.run(h.activities.createEndpoint, { projectId, branchId: preview.branch.id, type: 'read_only' });
    const fin = await h.run(h.activities.finalizeRestore, {
      projectId,
      branchId: preview.branch.id,
      oldBranchName: 'main (old np-d3)',
    });
    expect(fin).toMatchObject({ alreadyDone: false, replacedBranchId: branchId });
    const env = await h.run(h.activities.resolveEnvironment, {
      projectId,
      prodBranchName: 'main',
      devBranchName: 'dev',
    });
    expect(env.prod?.id).toBe(preview.branch.id);
    expect(env.prod?.endpoints.map((endpoint) => endpoint.id)).toContain(endpointId);
  });
});
