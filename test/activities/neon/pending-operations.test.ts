import { type Harness, startHarness } from '../../support/activity-harness';

/**
 * A response lost after Neon accepted a mutation: the retried activity finds the earlier attempt's work and must wait
 * for the operations that attempt started (and hand them back), so the workflow does not read the old state.
 * Operations here take seconds, so they are still running when the retry starts.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ operationDelayMs: 1500 });
});
afterAll(() => h.stop());
afterEach(() => h.emu.setFaults({ rules: [] }));

const SNAPSHOT = 'POST /projects/{project_id}/branches/{branch_id}/snapshot';
const RESTORE = 'POST /projects/{project_id}/snapshots/{snapshot_id}/restore';
const FINALIZE = 'POST /projects/{project_id}/branches/{branch_id}/finalize_restore';
const ENDPOINT = 'POST /projects/{project_id}/endpoints';

type Op = { id: string; status: string };
const statuses = async (projectId: string, ids: string[]): Promise<string[]> => {
  const { operations } = (await h.api('GET', `/projects/${projectId}/operations`)) as { operations: Op[] };
  return ids.map((id) => operations.find((o) => o.id === id)?.status ?? 'missing');
};

/** Runs `fn` with a lost response on `route`, then again as attempt 2, and returns both outcomes. */
async function lostThenRetried<T>(route: string, fn: (attempt: number) => Promise<T>) {
  h.emu.setFaults({ rules: [{ kind: 'response_lost', route, times: 1 }] });
  const lost = await fn(1).catch((e: unknown) => e);
  h.emu.setFaults({ rules: [] });
  expect(lost).toMatchObject({ type: 'NeonUnavailable', nonRetryable: false });
  return fn(2);
}

/** The retry handed back the earlier attempt's operations, and they were finished by the time it answered. */
async function expectWaitedFor(projectId: string, operationIds: string[]) {
  expect(operationIds.length).toBeGreaterThan(0);
  expect(await statuses(projectId, operationIds)).toEqual(operationIds.map(() => 'finished'));
}

test('ensureSnapshot after a lost create waits for the snapshot operations', async () => {
  const { projectId, branchId } = await h.createProject();
  const retry = await lostThenRetried(SNAPSHOT, (attempt) =>
    h.run(h.activities.ensureSnapshot, { projectId, branchId, name: 'np-lost-snap' }, attempt),
  );
  expect(retry.created).toBe(false);
  await expectWaitedFor(projectId, retry.operationIds);
  // Once they are finished, a repeat has nothing to wait for.
  expect(
    (await h.run(h.activities.ensureSnapshot, { projectId, branchId, name: 'np-lost-snap' }, 3)).operationIds,
  ).toEqual([]);
});

async function settledSnapshot() {
  const p = await h.createProject();
  const snap = await h.run(h.activities.ensureSnapshot, { projectId: p.projectId, branchId: p.branchId, name: 'np-s' });
  await h.run(h.activities.waitForOperations, { projectId: p.projectId, operationIds: snap.operationIds });
  return { ...p, snapshotId: snap.snapshot.id };
}

test.each([false, true])(
  'restoreSnapshot (finalize %s) after a lost response waits for its operations',
  async (finalize) => {
    const { projectId, branchId, snapshotId } = await settledSnapshot();
    const input = { projectId, snapshotId, targetBranchId: branchId, finalize, name: 'np-lost-restore' };
    const retry = await lostThenRetried(RESTORE, (attempt) => h.run(h.activities.restoreSnapshot, input, attempt));
    expect(retry.alreadyDone).toBe(true);
    await expectWaitedFor(projectId, retry.operationIds);
  },
);

test('finalizeRestore after a lost response waits for the swap operations, so verification finds the swap', async () => {
  const { projectId, branchId, endpointId, snapshotId } = await settledSnapshot();
  const preview = await h.run(h.activities.restoreSnapshot, {
    projectId,
    snapshotId,
    targetBranchId: branchId,
    finalize: false,
    name: 'np-preview',
  });
  await h.run(h.activities.waitForOperations, { projectId, operationIds: preview.operationIds });
  const input = { projectId, branchId: preview.branch.id, oldBranchName: 'main (old np)' };
  const retry = await lostThenRetried(FINALIZE, (attempt) => h.run(h.activities.finalizeRestore, input, attempt));
  expect(retry).toMatchObject({ alreadyDone: true, replacedBranchId: branchId });
  await expectWaitedFor(projectId, retry.operationIds);
  // Prod's endpoint is among the waited-for: it serves the restored branch once they are finished.
  const { operations } = (await h.api('GET', `/projects/${projectId}/operations`)) as {
    operations: (Op & { endpoint_id?: string })[];
  };
  expect(operations.filter((o) => retry.operationIds.includes(o.id)).map((o) => o.endpoint_id)).toContain(endpointId);
});

test('createEndpoint after a lost response waits for the start_compute', async () => {
  const { projectId, branchId, snapshotId } = await settledSnapshot();
  const preview = await h.run(h.activities.restoreSnapshot, {
    projectId,
    snapshotId,
    targetBranchId: branchId,
    finalize: false,
    name: 'np-candidate',
  });
  await h.run(h.activities.waitForOperations, { projectId, operationIds: preview.operationIds });
  const input = { projectId, branchId: preview.branch.id, type: 'read_write' as const };
  const retry = await lostThenRetried(ENDPOINT, (attempt) => h.run(h.activities.createEndpoint, input, attempt));
  expect(retry.created).toBe(false);
  await expectWaitedFor(projectId, retry.operationIds);
});
