/* eslint-disable @typescript-eslint/no-unsafe-member-access --
   JSON bodies under test are checked by assertions here, not by types. */
/**
 * "You cannot delete a project's root or default branch" (spec deleteProjectBranch). Whether a finalize passes the
 * root and the `default` flag to the restored branch is not documented, and Neon's promotion guide deletes the replaced
 * prod: the emulator does either (`rootOnFinalize`, `defaultOnFinalize`, admin `PUT /rules`). Where the root stays,
 * the branch a project was created with cannot be deleted once a restore replaced it, nor does its expiry delete it;
 * root branches a restore made can be. Control plane only: memory mode.
 */
import { startEmulator, waitForOperations, type Emulator } from '../../../tools/emulator';
import { type Json, rawApi, settled } from '../../support/emulator-api';

let emu: Emulator;
let api: ReturnType<typeof rawApi>;

beforeAll(async () => {
  emu = await startEmulator({ mode: 'memory', operationDelayMs: 5, detachingMs: { afterFinalize: 0 } });
  api = rawApi(emu);
});
afterAll(async () => emu?.stop());
afterEach(() => {
  emu.setDefaultOnFinalize('moves');
  emu.setRootOnFinalize('moves');
});

const ok = (method: string, path: string, body?: unknown): Promise<Json> => settled(emu, method, path, body);

/** A project whose main was replaced by a finalized restore of its own snapshot: main's ID and the restored one's. */
async function swapped(name: string): Promise<{ projectId: string; rootId: string; restoredId: string }> {
  const created = await api('POST', '/projects', { project: { name } });
  const projectId = created.body.project.id as string;
  await waitForOperations(emu, projectId, created.body.operations as { id: string }[]);
  const rootId = created.body.branch.id as string;
  const snap = await ok('POST', `/projects/${projectId}/branches/${rootId}/snapshot?name=s`);
  const restored = await ok('POST', `/projects/${projectId}/snapshots/${snap.snapshot.id}/restore`, {
    finalize_restore: true,
  });
  return { projectId, rootId, restoredId: restored.branch.id as string };
}

const branchOf = async (projectId: string, id: string): Promise<Json> =>
  (await api('GET', `/projects/${projectId}/branches/${id}`)).body.branch as Json;

test('where the root moves, the replaced prod can be deleted and the restored one, the root now, cannot', async () => {
  const { projectId, rootId, restoredId } = await swapped('root-moves');
  expect((await api('DELETE', `/projects/${projectId}/branches/${restoredId}`)).status).toBe(422);
  await ok('DELETE', `/projects/${projectId}/branches/${rootId}`);
});

test("where the root stays, the project's first branch cannot be deleted once replaced; a restore's root can", async () => {
  emu.setRootOnFinalize('stays');
  const { projectId, rootId, restoredId } = await swapped('root-stays');
  const old = await branchOf(projectId, rootId);
  expect(old).toMatchObject({ name: 'main (old)', default: false });
  const refused = await api('DELETE', `/projects/${projectId}/branches/${rootId}`);
  expect(refused.status).toBe(422);
  expect(refused.body.message).toMatch(/root branch/);

  // Its expiry passes, and it is still there: what cannot be deleted is not deleted by its expiry either.
  const soon = new Date(Date.now() + 1500).toISOString();
  await ok('PATCH', `/projects/${projectId}/branches/${rootId}`, { branch: { expires_at: soon } });
  await new Promise((resolve) => setTimeout(resolve, 2000));
  await fetch(`${emu.adminUrl}/sweep`, { method: 'POST', headers: { authorization: `Bearer ${emu.apiKey}` } });
  expect((await api('GET', `/projects/${projectId}/branches/${rootId}`)).status).toBe(200);

  // A second swap: the first restore's branch, now the backup, is a root branch that can be deleted.
  const snap = await ok('POST', `/projects/${projectId}/branches/${restoredId}/snapshot?name=s2`);
  await ok('POST', `/projects/${projectId}/snapshots/${snap.snapshot.id}/restore`, { finalize_restore: true });
  expect((await branchOf(projectId, restoredId)).parent_id).toBeUndefined();
  await ok('DELETE', `/projects/${projectId}/branches/${restoredId}`);
});

test('a finalize moves the default flag by default; with "stays" the replaced branch keeps it and cannot go', async () => {
  const moved = await swapped('moves');
  expect(await branchOf(moved.projectId, moved.restoredId)).toMatchObject({ name: 'main', default: true });

  const put = await fetch(`${emu.adminUrl}/rules`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${emu.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ default_on_finalize: 'stays' }),
  });
  expect(await put.json()).toEqual({ default_on_finalize: 'stays', root_on_finalize: 'moves' });
  const { projectId, rootId, restoredId } = await swapped('stays');
  expect(await branchOf(projectId, restoredId)).toMatchObject({ name: 'main', default: false });
  expect(await branchOf(projectId, rootId)).toMatchObject({ name: 'main (old)', default: true });
  // A second swap leaves the flag where it is: on the project's first branch, not on the one replaced now.
  const snap = await ok('POST', `/projects/${projectId}/branches/${restoredId}/snapshot?name=s2`);
  await ok('POST', `/projects/${projectId}/snapshots/${snap.snapshot.id}/restore`, { finalize_restore: true });
  expect(await branchOf(projectId, restoredId)).toMatchObject({ default: false });
  const expiry = await api('PATCH', `/projects/${projectId}/branches/${rootId}`, {
    branch: { expires_at: new Date(Date.now() + 3_600_000).toISOString() },
  });
  expect(expiry.status).toBe(422);
  expect((await api('DELETE', `/projects/${projectId}/branches/${rootId}`)).status).toBe(422);
});

test('set as default (spec setDefaultProjectBranch) takes the flag from the branch that had it, which can then go', async () => {
  emu.setDefaultOnFinalize('stays');
  const { projectId, rootId, restoredId } = await swapped('set-default');
  const set = await ok('POST', `/projects/${projectId}/branches/${restoredId}/set_as_default`);
  expect(set.branch).toMatchObject({ id: restoredId, default: true });
  expect(await branchOf(projectId, rootId)).toMatchObject({ default: false });
  // Again on the default branch: nothing changes, and it is no error.
  expect((await ok('POST', `/projects/${projectId}/branches/${restoredId}/set_as_default`)).branch).toMatchObject({
    default: true,
  });
  await ok('PATCH', `/projects/${projectId}/branches/${rootId}`, {
    branch: { expires_at: new Date(Date.now() + 3_600_000).toISOString() },
  });
  // A branch with an expiration cannot be the default ("Branch expiration" allows none on a default branch).
  const refused = await api('POST', `/projects/${projectId}/branches/${rootId}/set_as_default`);
  expect(refused.status).toBe(422);
  expect(await branchOf(projectId, restoredId)).toMatchObject({ default: true });
  expect((await api('POST', `/projects/${projectId}/branches/br-none-123/set_as_default`)).status).toBe(404);
  // root_on_finalize moves (the default): the replaced branch, no longer the default, can be deleted.
  await ok('DELETE', `/projects/${projectId}/branches/${rootId}`);
});
