/**
 * Neon does not delete a project's root or default branch (spec deleteProjectBranch). The first promotion's backup is
 * the prod the project was created with: its root branch, where a finalize leaves the root on it; and where a finalize
 * leaves the `default` flag on the branch it replaced, that backup is the default branch too. Neon says neither
 * whether the root nor whether the flag moves: the emulator does either, and the product must be right under each.
 * A root backup the janitor leaves, says why, and goes on with the rest, run after run; the default flag the run
 * moves to the new prod when it retires the backup, which then goes like any other.
 */
import { resourceName } from '../../../src/workflows/contract/names';
import { checksumOf, ledgerDdl } from '../../../src/activities/database/migrations-ledger';
import { api, inventory, uriOf } from '../../support/emulator-api';
import { sql } from '../../support/postgres';
import { neonActivities, projectWithChange, seedProd, type Stack, startStack } from '../../support/workflow-stack';

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

/** The project's default branch now, and whether the janitor (two days on) deleted each backup named. */
async function defaultAndJanitor(projectId: string, backups: string[]): Promise<string | undefined> {
  const branches = (await api(s.emu, 'GET', `/projects/${projectId}/branches`)).branches as BranchRow[];
  const result = await (await s.client.startJanitor({ projectId })).result();
  expect(result.deletedBranches.map((deleted) => deleted.name).sort()).toEqual([...backups].sort());
  const left = (await inventory(s.emu, projectId)).branches.map((branch) => branch.name);
  for (const name of backups) expect(left).not.toContain(name);
  return branches.find((branch) => branch.default)?.id;
}
type BranchRow = { id: string; name: string; default: boolean };

const FAILING = [{ kind: 'sql' as const, name: 'smoke', sql: 'SELECT 1', expect: { value: 2 } }];

test('the default flag stays on the replaced prod: the run moves it to the new prod, and the backup expires', async () => {
  s.emu.setDefaultOnFinalize('stays');
  const worker = await s.worker(twoDaysOn());
  await worker.runUntil(async () => {
    const p = await projectWithChange(s);
    const run = await s.client.startPromotion({ projectId: p.projectId });
    const promoted = await run.result();
    expect(promoted.outcome).toBe('promoted');
    expect(promoted.backupBranch?.id).toBe(p.branchId);
    expect(promoted.backupBranch?.expiresAt).toEqual(expect.any(String));
    const backups = [resourceName('old', run.workflowId)];
    expect(await defaultAndJanitor(p.projectId, backups)).toBe(promoted.prodBranchId.after);
  });
}, 180_000);

test('the default flag stays: a rolled-back promotion leaves the restored prod the default, both backups deletable', async () => {
  s.emu.setDefaultOnFinalize('stays');
  const worker = await s.worker(twoDaysOn());
  await worker.runUntil(async () => {
    const p = await projectWithChange(s);
    const run = await s.client.startPromotion({ projectId: p.projectId, postSwapChecks: FAILING });
    const rolled = await run.result();
    expect(rolled.outcome).toBe('rolled_back');
    expect(rolled.backupBranch?.id).toBe(p.branchId);
    expect(rolled.backupBranch?.expiresAt).toEqual(expect.any(String));
    const backups = [resourceName('old', run.workflowId), resourceName('failed', run.workflowId)];
    expect(await defaultAndJanitor(p.projectId, backups)).toBe(rolled.prodBranchId.after);
  });
}, 180_000);

test('the default flag stays: a rollback leaves the restored prod the default and its backup deletable', async () => {
  s.emu.setDefaultOnFinalize('stays');
  const worker = await s.worker(twoDaysOn());
  await worker.runUntil(async () => {
    const p = await projectWithChange(s);
    expect((await s.client.promote({ projectId: p.projectId })).outcome).toBe('promoted');
    const run = await s.client.startRollback({ projectId: p.projectId });
    const rolled = await run.result();
    expect(rolled.outcome).toBe('rolled_back');
    expect(rolled.backupBranch.expiresAt).toEqual(expect.any(String));
    // The promotion's backup went too: every backup is past its retention two days on.
    const branches = (await api(s.emu, 'GET', `/projects/${p.projectId}/branches`)).branches as BranchRow[];
    const backups = branches.filter((branch) => branch.name.startsWith('np-old-')).map((branch) => branch.name);
    expect(backups).toContain(resourceName('old', run.workflowId));
    expect(await defaultAndJanitor(p.projectId, backups)).toBe(rolled.prodBranchId.after);
  });
}, 180_000);

test("the default flag stays: the migrations strategy's restore of its anchor leaves the restored prod the default", async () => {
  s.emu.setDefaultOnFinalize('stays');
  const worker = await s.worker(twoDaysOn());
  await worker.runUntil(async () => {
    const p = await seedProd(s.emu, 3);
    await (await s.client.startSetup({ projectId: p.projectId })).result();
    const devUri = await uriOf(s.emu, p, 'dev');
    const text = 'ALTER TABLE items ADD COLUMN priority int';
    await sql(devUri, ledgerDdl());
    await sql(devUri, text);
    await sql(
      devUri,
      `INSERT INTO neon_promote_migrations (id, checksum, sql) VALUES ('001', '${checksumOf(text)}', $q$${text}$q$)`,
    );
    const run = await s.client.startPromotion({
      projectId: p.projectId,
      strategy: 'migrations',
      postSwapChecks: FAILING,
    });
    const rolled = await run.result();
    expect(rolled.outcome).toBe('rolled_back');
    expect(rolled.backupBranch?.id).toBe(p.branchId);
    expect(rolled.backupBranch?.expiresAt).toEqual(expect.any(String));
    const backups = [resourceName('old', run.workflowId)];
    expect(await defaultAndJanitor(p.projectId, backups)).toBe(rolled.prodBranchId.after);
  });
}, 180_000);

/**
 * A backup's expiry is counted from when the request is sent: the shortest retention (1 s) set from when the step was
 * scheduled would be past when a late attempt sends it (a busy worker's backlog, retries), and Neon refuses an expiry
 * in the past, so the backup would be kept for good. Each retiring call here starts 1.5 s late.
 */
test('a retention of 1 s sent by a late attempt still gives the backup an expiry, and the expiry deletes it', async () => {
  const real = neonActivities(s.emu);
  const late =
    <I, R>(fn: (input: I) => Promise<R>) =>
    async (input: I): Promise<R> => {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      return fn(input);
    };
  const worker = await s.worker({
    ...real,
    cleanUpSwap: late(real.cleanUpSwap),
    updateBranch: late(real.updateBranch),
  });
  await worker.runUntil(async () => {
    const p = await projectWithChange(s);
    const run = await s.client.startPromotion({ projectId: p.projectId, retention: { backupBranch: 1000 } });
    const promoted = await run.result();
    expect(promoted.outcome).toBe('promoted');
    const expiresAt = promoted.backupBranch?.expiresAt;
    expect(expiresAt).toEqual(expect.any(String));
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(expiresAt!) - Date.now()) + 200));
    await fetch(`${s.emu.adminUrl}/sweep`, { method: 'POST', headers: { authorization: `Bearer ${s.emu.apiKey}` } });
    const left = (await inventory(s.emu, p.projectId)).branches.map((branch) => branch.name);
    expect(left).not.toContain(resourceName('old', run.workflowId));
  });
}, 180_000);
