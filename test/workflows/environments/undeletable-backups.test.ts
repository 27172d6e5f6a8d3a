/**
 * Neon does not delete a project's root or default branch (spec deleteProjectBranch). The first promotion's backup is
 * the prod the project was created with: its root branch, where a finalize leaves the root on it; and where a finalize
 * leaves the `default` flag on the branch it replaced, that backup is the default branch too. Neon says neither
 * whether the root nor whether the flag moves: the emulator does either, and the product must be right under each.
 * The janitor leaves such a backup, says why, and goes on with the rest, run after run.
 */
import { resourceName } from '../../../src/workflows/contract/names';
import { inventory } from '../../support/emulator-api';
import { neonActivities, projectWithChange, type Stack, startStack } from '../../support/workflow-stack';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename);
});
afterAll(async () => s?.stop());
afterEach(() => {
  s.emu.setDefaultOnFinalize('moves');
  s.emu.setRootOnFinalize('moves');
});

const DAY = 86_400_000;

/** The emulator's activities, with the janitor's survey two days on: every backup's retention is over. */
function twoDaysOn() {
  const real = neonActivities(s.emu);
  return {
    ...real,
    resolveEnvironment: async (input: Parameters<typeof real.resolveEnvironment>[0]) => {
      const env = await real.resolveEnvironment(input);
      return { ...env, observedAt: new Date(Date.parse(env.observedAt) + 2 * DAY).toISOString() };
    },
  };
}

/** Two janitor runs: each ends, keeps the backup `name` and says why. */
async function janitorLeaves(projectId: string, name: string, why: RegExp): Promise<void> {
  for (let run = 0; run < 2; run++) {
    const result = await (await s.client.startJanitor({ projectId })).result();
    expect(result.deletedBranches.map((deleted) => deleted.name)).not.toContain(name);
    const skipped = result.skipped.find((branch) => branch.name === name);
    expect(skipped?.why).toMatch(why);
  }
  expect((await inventory(s.emu, projectId)).branches.map((branch) => branch.name)).toContain(name);
}

test("the root stays: the first promotion's backup, the project's root branch, is left and said so", async () => {
  s.emu.setRootOnFinalize('stays');
  const worker = await s.worker(twoDaysOn());
  await worker.runUntil(async () => {
    const p = await projectWithChange(s);
    const run = await s.client.startPromotion({ projectId: p.projectId });
    const promoted = await run.result();
    expect(promoted.outcome).toBe('promoted');
    expect(promoted.backupBranch?.id).toBe(p.branchId);
    expect(promoted.backupBranch?.expiresAt).not.toBeNull();
    await janitorLeaves(
      p.projectId,
      resourceName('old', run.workflowId),
      /past its retention, but Neon keeps it: .*root/,
    );
  });
}, 180_000);

test('the default flag stays on the replaced prod: that backup gets no expiry and is left as the default branch', async () => {
  s.emu.setDefaultOnFinalize('stays');
  const worker = await s.worker(twoDaysOn());
  await worker.runUntil(async () => {
    const p = await projectWithChange(s);
    const run = await s.client.startPromotion({ projectId: p.projectId });
    const promoted = await run.result();
    expect(promoted.outcome).toBe('promoted');
    // Neon refuses an expiry on the default branch: the run keeps the backup without one and goes on.
    expect(promoted.backupBranch).toMatchObject({ id: p.branchId, expiresAt: null });
    await janitorLeaves(p.projectId, resourceName('old', run.workflowId), /the project's default branch/);
  });
}, 180_000);
