import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { type Harness, startHarness, total } from '../../support/activity-harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ snapshotQuota: 3 });
});
afterAll(() => h.stop());

const days = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z');

describe('environment, snapshot and branch activities against the emulator', () => {
  it('resolveEnvironment finds prod and dev by name, with endpoints and snapshot room', async () => {
    const { projectId, branchId, endpointId } = await h.createProject();
    const env = await h.run(h.activities.resolveEnvironment, {
      projectId,
      prodBranchName: 'main',
      devBranchName: 'dev',
    });
    expect(env.prod).toMatchObject({ id: branchId, name: 'main', default: true, restoredFrom: null });
    expect(env.prod?.endpoints.map((e) => e.id)).toEqual([endpointId]);
    expect(env.dev).toBeNull();
    expect(env).toMatchObject({ snapshots: [], snapshotLimit: 10, freeSnapshotSlots: 10 });
  });

  it('ensureSnapshot creates once; a second run returns the same snapshot', async () => {
    const { projectId, branchId } = await h.createProject();
    const input = { projectId, branchId, name: 'np-wf-1-rollback', expiresAt: days(30) };
    const first = await h.run(h.activities.ensureSnapshot, input);
    const second = await h.run(h.activities.ensureSnapshot, input, 2);
    expect(first.created).toBe(true);
    expect(first.operationIds.length).toBeGreaterThan(0);
    expect(second).toMatchObject({ snapshot: first.snapshot, created: false });
    // Whatever of the first run's operations is still running, and nothing else.
    expect(first.operationIds).toEqual(expect.arrayContaining(second.operationIds));
    expect(first.snapshot).toMatchObject({ name: input.name, sourceBranchId: branchId });
    expect(Date.parse(first.snapshot.expiresAt ?? '')).toBe(Date.parse(input.expiresAt));
    const all = await h.run(h.activities.listSnapshots, { projectId });
    expect(all.filter((s) => s.name === input.name)).toHaveLength(1);
  });

  it('a lost response on snapshot creation, then the retry, leaves exactly one snapshot', async () => {
    const { projectId, branchId } = await h.createProject();
    h.emu.setFaults({
      rules: [{ kind: 'response_lost', route: 'POST /projects/{project_id}/branches/{branch_id}/snapshot', times: 1 }],
    });
    const input = { projectId, branchId, name: 'np-wf-2-candidate' };
    const lost = await h.run(h.activities.ensureSnapshot, input).catch((e: unknown) => e);
    h.emu.setFaults({ rules: [] });
    expect(lost).toBeInstanceOf(ApplicationFailure);
    expect(lost).toMatchObject({ type: 'NeonUnavailable', nonRetryable: false });
    const retry = await h.run(h.activities.ensureSnapshot, input, 2);
    expect(retry.created).toBe(false);
    const all = await h.run(h.activities.listSnapshots, { projectId });
    expect(all.map((s) => s.name)).toEqual([input.name]);
  });

  it('a namesake from an earlier run (reused workflow ID) is not taken for this step: Neon keeps names unique, so the step fails naming it', async () => {
    const { projectId, branchId } = await h.createProject();
    const input = { projectId, branchId, name: 'np-rollback-reused-id' };
    const earlier = await h.run(h.activities.ensureSnapshot, input);
    await h.run(h.activities.waitForOperations, { projectId, operationIds: earlier.operationIds });
    // Neon dates snapshots in whole seconds and the retry allows a second of skew: the next step starts 2 s later.
    await new Promise((r) => setTimeout(r, 2100));
    const scheduledTimestampMs = Date.now();
    const step = (attempt: number) =>
      new MockActivityEnvironment({ attempt, scheduledTimestampMs })
        .run(h.activities.ensureSnapshot, input)
        .catch((e: unknown) => e);
    for (const attempt of [1, 2]) {
      const refused = await step(attempt);
      expect(refused).toMatchObject({ type: 'NeonConflict', nonRetryable: true });
      expect((refused as Error).message).toContain(`taken by ${earlier.snapshot.id}`);
    }
    const all = await h.run(h.activities.listSnapshots, { projectId });
    expect(all.map((s) => s.id)).toEqual([earlier.snapshot.id]);
  });

  it("a create refused because the name is taken by this step's own snapshot returns that snapshot", async () => {
    const { projectId, branchId } = await h.createProject();
    const scheduledTimestampMs = Date.now();
    const made = await h.api('POST', `/projects/${projectId}/branches/${branchId}/snapshot?name=np-own`);
    await h.run(h.activities.waitForOperations, {
      projectId,
      operationIds: (made.operations as { id: string }[]).map((op) => op.id),
    });
    const input = { projectId, branchId, name: 'np-own' };
    const counts = await h.countCalls(async () => {
      const found = await new MockActivityEnvironment({ attempt: 1, scheduledTimestampMs }).run(
        h.activities.ensureSnapshot,
        input,
      );
      expect(found).toMatchObject({ created: false, snapshot: { id: (made.snapshot as { id: string }).id } });
    });
    expect(counts['POST /projects/{project_id}/branches/{branch_id}/snapshot']).toBe(1);
    expect((await h.run(h.activities.listSnapshots, { projectId })).map((s) => s.name)).toEqual(['np-own']);
  });

  it('a full snapshot quota is a non-retryable NeonQuotaExceeded', async () => {
    const { projectId, branchId } = await h.createProject();
    for (const n of [1, 2, 3]) {
      const { operationIds } = await h.run(h.activities.ensureSnapshot, { projectId, branchId, name: `s${n}` });
      await h.run(h.activities.waitForOperations, { projectId, operationIds });
    }
    const err = await h.run(h.activities.ensureSnapshot, { projectId, branchId, name: 's4' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'NeonQuotaExceeded', nonRetryable: true });
  });

  it('updateSnapshot and deleteSnapshot are repeatable; deleting what is gone is done', async () => {
    const { projectId, branchId } = await h.createProject();
    const { snapshot, operationIds } = await h.run(h.activities.ensureSnapshot, {
      projectId,
      branchId,
      name: 'before',
    });
    await h.run(h.activities.waitForOperations, { projectId, operationIds });
    const rename = { projectId, snapshotId: snapshot.id, name: 'after' };
    expect(await h.run(h.activities.updateSnapshot, rename)).toMatchObject({
      changed: true,
      snapshot: { name: 'after' },
    });
    // Attempt 1 sends the rename without a look-up (a no-op when already named); a retry reads and sends nothing.
    expect(await h.run(h.activities.updateSnapshot, rename)).toMatchObject({ snapshot: { name: 'after' } });
    expect(await h.run(h.activities.updateSnapshot, rename, 2)).toMatchObject({
      changed: false,
      snapshot: { name: 'after' },
    });
    const del = { projectId, snapshotId: snapshot.id };
    expect(await h.run(h.activities.deleteSnapshot, del)).toMatchObject({ deleted: true });
    expect(await h.run(h.activities.deleteSnapshot, del)).toEqual({ deleted: false, operationIds: [] });
  });

  it('createBranch twice gives one branch (with its endpoint); updates and deletes are repeatable', async () => {
    const { projectId, branchId } = await h.createProject();
    const input = {
      projectId,
      name: 'preview-1',
      parentId: branchId,
      endpointType: 'read_write' as const,
      expiresAt: days(2),
    };
    const first = await h.run(h.activities.createBranch, input);
    await h.run(h.activities.waitForOperations, { projectId, operationIds: first.operationIds });
    const second = await h.run(h.activities.createBranch, input);
    expect(first.created).toBe(true);
    expect(second).toMatchObject({ created: false, branch: { id: first.branch.id } });
    expect(second.branch.endpoints.map((e) => e.id)).toEqual(first.branch.endpoints.map((e) => e.id));
    expect(first.branch.endpoints).toHaveLength(1);

    const id = { projectId, branchId: first.branch.id };
    expect(await h.run(h.activities.renameBranch, { ...id, name: 'preview-1b' })).toMatchObject({ changed: true });
    // A repeat is a retry (attempt 2): it reads the branch and sends nothing.
    expect(await h.run(h.activities.renameBranch, { ...id, name: 'preview-1b' }, 2)).toMatchObject({
      changed: false,
      operationIds: [],
    });
    expect(await h.run(h.activities.setBranchExpiry, { ...id, expiresAt: null })).toMatchObject({
      changed: true,
      branch: { expiresAt: null },
    });
    expect(await h.run(h.activities.protectBranch, { ...id, protected: true })).toMatchObject({
      changed: true,
      branch: { protected: true },
    });
    expect(await h.run(h.activities.protectBranch, { ...id, protected: true }, 2)).toMatchObject({ changed: false });
    await h.run(h.activities.protectBranch, { ...id, protected: false });

    const del1 = await h.run(h.activities.deleteBranch, id);
    await h.run(h.activities.waitForOperations, { projectId, operationIds: del1.operationIds });
    expect(del1.deleted).toBe(true);
    expect(await h.run(h.activities.deleteBranch, id)).toMatchObject({ deleted: false });
    expect(await h.run(h.activities.getBranch, id)).toBeNull();
  });

  it('createEndpoint twice gives one endpoint; deleteEndpoint twice is done', async () => {
    const { projectId, branchId: parentId } = await h.createProject();
    const first = await h.run(h.activities.createBranch, {
      projectId,
      name: 'ep-test',
      parentId,
      endpointType: 'read_write',
    });
    await h.run(h.activities.waitForOperations, { projectId, operationIds: first.operationIds });
    const id = { projectId, branchId: first.branch.id };
    const endpointId = first.branch.endpoints[0]!.id;
    const deleted = await h.run(h.activities.deleteEndpoint, { projectId, endpointId });
    expect(deleted).toMatchObject({ deleted: true });
    // The project stays locked (423) until the delete's operation finished, as on Neon.
    await h.run(h.activities.waitForOperations, { projectId, operationIds: deleted.operationIds });
    expect(await h.run(h.activities.deleteEndpoint, { projectId, endpointId })).toMatchObject({ deleted: false });
    const ep1 = await h.run(h.activities.createEndpoint, { ...id, type: 'read_write' });
    const ep2 = await h.run(h.activities.createEndpoint, { ...id, type: 'read_write' });
    expect(ep1.created).toBe(true);
    expect(ep2).toMatchObject({ created: false, endpoint: { id: ep1.endpoint.id } });
    await h.run(h.activities.waitForOperations, { projectId, operationIds: ep1.operationIds });
  });

  it('a 404 is an immediate non-retryable NeonNotFound; a 422 a non-retryable NeonBadRequest', async () => {
    const { projectId, branchId } = await h.createProject();
    const notFound = await h
      .run(h.activities.renameBranch, { projectId, branchId: 'br-nope-1', name: 'x' })
      .catch((e: unknown) => e);
    expect(notFound).toMatchObject({ type: 'NeonNotFound', nonRetryable: true, details: [{ status: 404 }] });
    // Neon refuses an expiry on a protected branch (and the emulator with it): 422.
    await h.run(h.activities.protectBranch, { projectId, branchId, protected: true });
    const refused = await h
      .run(h.activities.setBranchExpiry, { projectId, branchId, expiresAt: days(1) })
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ type: 'NeonBadRequest', nonRetryable: true, details: [{ status: 422 }] });
  });

  it('a deterministic name already used for something else is a non-retryable NeonConflict, not a silent reuse', async () => {
    const { projectId, branchId } = await h.createProject();
    const other = await h.run(h.activities.createBranch, { projectId, name: 'other', parentId: branchId });
    await h.run(h.activities.waitForOperations, { projectId, operationIds: other.operationIds });
    const snap = await h.run(h.activities.ensureSnapshot, { projectId, branchId, name: 'np-wf-9-rollback' });
    await h.run(h.activities.waitForOperations, { projectId, operationIds: snap.operationIds });
    // A retry (attempt 2; the mock dates its first scheduling at the epoch) that finds the name taken from elsewhere.
    const wrongSource = await h
      .run(h.activities.ensureSnapshot, { projectId, branchId: other.branch.id, name: 'np-wf-9-rollback' }, 2)
      .catch((e: unknown) => e);
    expect(wrongSource).toMatchObject({ type: 'NeonConflict', nonRetryable: true });
    const wrongParent = await h
      .run(h.activities.createBranch, { projectId, name: 'other', parentId: other.branch.id })
      .catch((e: unknown) => e);
    expect(wrongParent).toMatchObject({ type: 'NeonConflict', nonRetryable: true });
    // Two branches named like prod: refusing beats guessing which one to promote onto.
    await h.run(h.activities.renameBranch, { projectId, branchId: other.branch.id, name: 'main' });
    const ambiguous = await h
      .run(h.activities.resolveEnvironment, { projectId, prodBranchName: 'main', devBranchName: 'dev' })
      .catch((e: unknown) => e);
    expect(ambiguous).toMatchObject({ type: 'NeonConflict', nonRetryable: true });
  });

  it('invalid input fails before any Neon call, naming the field', async () => {
    const counts = await h.countCalls(async () => {
      const err = await h
        .run(h.activities.ensureSnapshot, { projectId: 'p-1', branchId: 'BR_UPPER', name: 'x' })
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ type: 'InvalidInput', nonRetryable: true, details: [{ field: 'branchId' }] });
    });
    expect(total(counts)).toBe(0);
  });
});
