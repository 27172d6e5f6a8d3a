/**
 * retireBackup against the emulator: the default flag a finalize may leave on the replaced branch moves to the branch
 * serving in its place, once and only where it stayed, and an attempt that finds it moved sends only the expiry.
 */
import { type Harness, startHarness } from '../../support/activity-harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ operationDelayMs: 5, detachingMs: { afterFinalize: 0 } });
});
afterAll(() => h.stop());
afterEach(() => {
  h.emu.setDefaultOnFinalize('moves');
  h.emu.setFaults({ rules: [] });
});

const SET_DEFAULT = 'POST /projects/{project_id}/branches/{branch_id}/set_as_default';
const PATCH = 'PATCH /projects/{project_id}/branches/{branch_id}';
const GET = 'GET /projects/{project_id}/branches/{branch_id}';

/** A project whose first branch a finalized restore of its own snapshot replaced: the backup and the new branch. */
async function swapped(): Promise<{ projectId: string; backupId: string; servingId: string }> {
  const { projectId, branchId } = await h.createProject();
  const snap = await h.run(h.activities.ensureSnapshot, { projectId, branchId, name: 's' });
  const restored = await h.run(h.activities.restoreSnapshot, {
    projectId,
    snapshotId: snap.snapshot.id,
    targetBranchId: branchId,
    finalize: false,
    name: 'restored',
  });
  await h.run(h.activities.finalizeRestore, { projectId, branchId: restored.branch.id, oldBranchName: 'old' });
  return { projectId, backupId: branchId, servingId: restored.branch.id };
}

const branch = async (projectId: string, id: string) =>
  (await h.api('GET', `/projects/${projectId}/branches/${id}`)).branch as { default: boolean; expires_at?: string };

test('where the flag moved with the finalize, the expiry is the only call', async () => {
  const { projectId, backupId, servingId } = await swapped();
  const input = { projectId, branchId: backupId, servingBranchId: servingId, retentionMs: 60_000 };
  const calls = await h.countCalls(() => h.run(h.activities.retireBackup, input));
  expect(calls).toEqual({ [PATCH]: 1 });
  expect((await branch(projectId, backupId)).expires_at).toEqual(expect.any(String));
});

test('where it stayed, it moves once: a retry after a lost answer finds it moved and sends only the expiry', async () => {
  h.emu.setDefaultOnFinalize('stays');
  const { projectId, backupId, servingId } = await swapped();
  expect(await branch(projectId, backupId)).toMatchObject({ default: true });
  h.emu.setFaults({ rules: [{ kind: 'response_lost', route: SET_DEFAULT, times: 1 }] });
  const input = { projectId, branchId: backupId, servingBranchId: servingId, retentionMs: 60_000 };
  const first = await h.countCalls(() => h.run(h.activities.retireBackup, input).catch(() => null));
  expect(first).toEqual({ [PATCH]: 1, [GET]: 1, [SET_DEFAULT]: 1 });
  expect(await branch(projectId, servingId)).toMatchObject({ default: true });
  let result: Awaited<ReturnType<typeof h.activities.retireBackup>> | null = null;
  const retry = await h.countCalls(async () => (result = await h.run(h.activities.retireBackup, input, 2)));
  expect(retry).toEqual({ [PATCH]: 1 });
  expect(result!.movedDefault).toBe(false);
  expect(result!.expiresAt).toEqual(expect.any(String));
  const backup = await branch(projectId, backupId);
  expect(backup.default).toBe(false);
  expect(backup.expires_at).toEqual(expect.any(String));
});

test('a backup kept without expiry gives up the flag too; kept again, it is only read', async () => {
  h.emu.setDefaultOnFinalize('stays');
  const { projectId, backupId, servingId } = await swapped();
  const input = { projectId, branchId: backupId, servingBranchId: servingId, retentionMs: null };
  const first = await h.countCalls(() => h.run(h.activities.retireBackup, input));
  expect(first).toEqual({ [GET]: 1, [SET_DEFAULT]: 1 });
  expect(await branch(projectId, servingId)).toMatchObject({ default: true });
  expect(await h.countCalls(() => h.run(h.activities.retireBackup, input))).toEqual({ [GET]: 1 });
  expect((await branch(projectId, backupId)).expires_at).toBeUndefined();
});
