/**
 * The plan's limits as the activities report them: only manual snapshots hold slots (a backup schedule's do not, and
 * they keep `manual: false`), and the root-branch limit the worker is configured with travels with the environment.
 */
import { createActivitiesFromEnv } from '../../../src/activities';
import { waitForOperations } from '../../../tools/emulator';
import { type Harness, startHarness } from '../../support/activity-harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ plan: 'launch', snapshotQuota: 3 }, { snapshotLimit: 3, rootBranchLimit: 5 });
});
afterAll(() => h.stop());

test('a scheduled snapshot is listed as not manual and takes no slot of the plan', async () => {
  const { projectId, branchId } = await h.createProject();
  const scheduled = await fetch(`${h.emu.adminUrl}/projects/${projectId}/branches/${branchId}/scheduled_snapshot`, {
    method: 'POST',
    headers: { authorization: `Bearer ${h.emu.apiKey}`, 'content-type': 'application/json' },
    body: '{}',
  });
  expect(scheduled.status).toBe(200);
  // Its operation holds the project until it finishes.
  const { operations } = (await scheduled.json()) as { operations: { id: string }[] };
  await waitForOperations(h.emu, projectId, operations);
  await h.run(h.activities.ensureSnapshot, { projectId, branchId, name: 'np-x-rollback' });
  const env = await h.run(h.activities.resolveEnvironment, {
    projectId,
    prodBranchName: 'main',
    devBranchName: 'dev',
  });
  expect(env.snapshots.map(({ name, manual }) => ({ name, manual }))).toEqual(
    expect.arrayContaining([
      { name: 'np-x-rollback', manual: true },
      { name: expect.stringMatching(/^main /) as unknown, manual: false },
    ]),
  );
  expect(env).toMatchObject({ snapshotLimit: 3, freeSnapshotSlots: 2, rootBranchLimit: 5 });
});

test("the worker's settings: NEON_PLAN sets both limits, NEON_SNAPSHOT_LIMIT and NEON_ROOT_BRANCH_LIMIT override it", async () => {
  const { projectId } = await h.createProject();
  const envOf = async (settings: Record<string, string>) => {
    const activities = createActivitiesFromEnv({
      NEON_API_KEY: h.emu.apiKey,
      NEON_API_BASE_URL: h.emu.baseUrl,
      ...settings,
    });
    const env = await h.run(activities.resolveEnvironment, { projectId, prodBranchName: 'main', devBranchName: 'dev' });
    return { snapshotLimit: env.snapshotLimit, rootBranchLimit: env.rootBranchLimit };
  };
  expect(await envOf({})).toEqual({ snapshotLimit: 10, rootBranchLimit: null });
  expect(await envOf({ NEON_PLAN: 'free' })).toEqual({ snapshotLimit: 1, rootBranchLimit: 3 });
  expect(await envOf({ NEON_PLAN: 'launch', NEON_SNAPSHOT_LIMIT: '10' })).toEqual({
    snapshotLimit: 10,
    rootBranchLimit: 5,
  });
  expect(await envOf({ NEON_PLAN: 'scale', NEON_ROOT_BRANCH_LIMIT: 'none' })).toEqual({
    snapshotLimit: 100,
    rootBranchLimit: null,
  });
  expect(() => createActivitiesFromEnv({ NEON_API_KEY: 'k', NEON_PLAN: 'pro' })).toThrow(/NEON_PLAN must be/);
  expect(() => createActivitiesFromEnv({ NEON_API_KEY: 'k', NEON_ROOT_BRANCH_LIMIT: 'five' })).toThrow(
    /NEON_ROOT_BRANCH_LIMIT must be/,
  );
});
