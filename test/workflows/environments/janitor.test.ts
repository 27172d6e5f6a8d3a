/**
 * The janitor and backups a run kept on purpose: a branch replaced by a swap that a run left without an expiry (after
 * a verification failed, it is the way back) is never deleted for its age, however old; one past its expiry is.
 */
import { api, inventory } from '../../support/emulator-api';
import { neonActivities, seedProd, type Stack, startStack } from '../../support/workflow-stack';
import { waitForOperations } from '../../../tools/emulator';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename);
});
afterAll(async () => s?.stop());

const DAY = 86_400_000;

test('a backup without expiry is kept and reported, whatever its age; one past its expiry is deleted', async () => {
  const real = neonActivities(s.emu);
  // The janitor judges age by the survey's time: two days on, every branch here is older than a day.
  const later = {
    ...real,
    resolveEnvironment: async (input: Parameters<typeof real.resolveEnvironment>[0]) => {
      const env = await real.resolveEnvironment(input);
      return { ...env, observedAt: new Date(Date.parse(env.observedAt) + 2 * DAY).toISOString() };
    },
  };
  const worker = await s.worker(later);
  await worker.runUntil(async () => {
    const p = await seedProd(s.emu, 2);
    const branch = async (name: string, expiresAt?: string) => {
      const made = await api(s.emu, 'POST', `/projects/${p.projectId}/branches`, {
        branch: { name, parent_id: p.branchId, ...(expiresAt ? { expires_at: expiresAt } : {}) },
      });
      await waitForOperations(s.emu, p.projectId, made.operations as { id: string }[]);
    };
    await branch('np-old-rollback-kept');
    await branch('np-old-promote-retired', new Date(Date.now() + DAY).toISOString().replace(/\.\d{3}Z$/, 'Z'));
    const result = await (await s.client.startJanitor({ projectId: p.projectId })).result();
    expect(result.deletedBranches.map((deleted) => deleted.name)).toEqual(['np-old-promote-retired']);
    expect(result.skipped).toEqual([expect.objectContaining({ name: 'np-old-rollback-kept' })]);
    const names = (await inventory(s.emu, p.projectId)).branches.map((b) => b.name);
    expect(names).toContain('np-old-rollback-kept');
  });
}, 180_000);
