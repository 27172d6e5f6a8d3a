/**
 * The full cycle on each of the emulator's plan presets, with a worker told the same limits: setup, a preview reset
 * and deleted, promotions of which the second of every three rolls back, a refresh, a rollback and the janitor. On
 * Scale and Launch every run succeeds; on Free each run either succeeds or is refused before any change in one line
 * naming the limit (the fork point holds its only manual snapshot slot: no promotion, no refresh). Backups are kept for
 * five seconds, so Launch's five root branches hold prod, dev and what one run makes. At the end the project holds
 * prod, dev and what the product promises to keep: its rollback points. Ten promotions with RELIABILITY_FULL=1, two
 * otherwise.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { PLAN_LIMITS } from '../../src/activities';
import type { Plan } from '../../tools/emulator';
import { inventory, mutatingCalls, uriOf } from '../support/emulator-api';
import { until } from '../support/polling';
import { sql } from '../support/postgres';
import { FULL } from '../support/reliability';
import { neonActivities, seedProd, type Stack, startStack } from '../support/workflow-stack';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename);
});
afterAll(async () => s?.stop());
afterEach(() => s.emu.setLimits({ plan: 'scale' }));

const PROMOTIONS = FULL ? 10 : 2;
// Long enough that the expiry a run sets is still ahead when Neon gets it on a busy machine (a past one is refused).
const BACKUP_RETENTION = 5000;
const FAILING = [{ kind: 'sql' as const, name: 'smoke', sql: 'SELECT 1', expect: { value: 2 } }];

const mutating = (): string[] => mutatingCalls(s.emu);

async function holdings(projectId: string) {
  const { branches, snapshots } = await inventory(s.emu, projectId);
  const named = (items: { id: string; name: string }[]) => items.map(({ id, name }) => `${id} ${name}`).sort();
  return { branches: named(branches), snapshots: named(snapshots) };
}

/** Runs `start`; a refusal must leave the project as it was and name the limit in one line. Its result, or null. */
async function succeedsOrRefusedUpFront<T>(projectId: string, start: () => Promise<T>): Promise<T | null> {
  const before = await holdings(projectId);
  s.emu.resetRequestLog();
  const outcome = await start().then(
    (result) => ({ result }),
    (err: unknown) => ({ err }),
  );
  if ('result' in outcome) return outcome.result;
  const cause = (outcome.err instanceof WorkflowFailedError ? outcome.err.cause : outcome.err) as Error & {
    type?: string;
  };
  expect(`${cause.type}: ${cause.message}`).toMatch(
    /^(SnapshotQuota|RootBranchLimit): .*\(the plan's limit of (manual snapshots|root branches)\)/,
  );
  expect(cause.message.split('\n')).toHaveLength(1);
  expect(mutating()).toEqual([]);
  expect(await holdings(projectId)).toEqual(before);
  return null;
}

/** Waits out the backups' retention: prod, dev and nothing else among the root branches. */
const backupsGone = (projectId: string) =>
  until(
    'the backups to expire',
    () => inventory(s.emu, projectId),
    (inv) => inv.branches.filter((branch) => !branch.parent_id).length === 2,
    { timeoutMs: 60_000, intervalMs: 200 },
  );

async function cycle(plan: Plan): Promise<{ promoted: number; refused: number }> {
  s.emu.setLimits({ plan });
  const { snapshotLimit, rootBranchLimit } = PLAN_LIMITS[plan];
  const tally = { promoted: 0, refused: 0 };
  const worker = await s.worker(neonActivities(s.emu, snapshotLimit, rootBranchLimit));
  await worker.runUntil(async () => {
    const p = await seedProd(s.emu, 3);
    const { projectId } = p;
    const setup = await (await s.client.startSetup({ projectId })).result();
    expect(setup.outcome).toBe('created');

    const preview = await s.client.createPreview({ projectId, label: 'pr-1', expiresIn: '2d' });
    expect(preview.outcome).toBe('created');
    // Neon resets a child of dev, restored from a snapshot by setup, only once up to 24 hours have passed.
    s.emu.advanceClock(24 * 3_600_000);
    expect((await s.client.resetPreview({ projectId, name: 'preview-pr-1' })).outcome).toBe('reset');
    expect((await s.client.deletePreview({ projectId, name: 'preview-pr-1' })).outcome).toBe('deleted');

    // On Launch a run fits beside prod and dev only once the backups before it are gone.
    const roomFor = (): Promise<unknown> => (plan === 'launch' ? backupsGone(projectId) : Promise.resolve());
    for (let i = 0; i < PROMOTIONS; i++) {
      await roomFor();
      await sql(await uriOf(s.emu, p, 'dev'), `UPDATE items SET source = 'dev-${i}'`);
      const rollsBack = i % 3 === 1;
      const result = await succeedsOrRefusedUpFront(projectId, () =>
        s.client.promote({
          projectId,
          retention: { backupBranch: BACKUP_RETENTION },
          ...(rollsBack ? { postSwapChecks: FAILING } : {}),
        }),
      );
      if (result) expect(result.outcome).toBe(rollsBack ? 'rolled_back' : 'promoted');
      tally[result ? 'promoted' : 'refused']++;
    }

    await roomFor();
    const refreshed = await succeedsOrRefusedUpFront(projectId, async () =>
      (await s.client.startRefresh({ projectId, force: true, backupRetention: BACKUP_RETENTION })).result(),
    );
    if (refreshed) expect(refreshed.outcome).toBe('refreshed');

    await roomFor();
    // Back to the newest rollback point; where no promotion took one (Free), to the fork point setup left.
    const { snapshots } = await inventory(s.emu, projectId);
    const hasRollbackPoint = snapshots.some((snapshot) => snapshot.name.startsWith('np-rollback-'));
    const rolled = await succeedsOrRefusedUpFront(projectId, async () =>
      (
        await s.client.startRollback({
          projectId,
          backupRetention: BACKUP_RETENTION,
          ...(hasRollbackPoint ? {} : { snapshotId: setup.forkPoint!.snapshotId }),
        })
      ).result(),
    );
    expect(rolled?.outcome).toBe('rolled_back');

    await backupsGone(projectId);
    const janitor = await (await s.client.startJanitor({ projectId })).result();
    expect(['cleaned', 'noop']).toContain(janitor.outcome);

    // What is left: prod, dev, and the rollback points the product keeps; no preview, backup or run snapshot.
    const left = await inventory(s.emu, projectId);
    expect(left.branches.map((branch) => branch.name).sort()).toEqual(['dev', 'prod']);
    expect(left.snapshots.filter((snapshot) => !snapshot.name.startsWith('np-rollback-'))).toEqual([]);
  });
  return tally;
}

test('Scale: every run of the cycle succeeds', async () => {
  expect(await cycle('scale')).toEqual({ promoted: PROMOTIONS, refused: 0 });
}, 600_000);

test('Launch: every run of the cycle succeeds within its five root branches', async () => {
  expect(await cycle('launch')).toEqual({ promoted: PROMOTIONS, refused: 0 });
}, 600_000);

test('Free: setup, the preview, a rollback and the janitor succeed; promotions and the refresh are refused up front', async () => {
  expect(await cycle('free')).toEqual({ promoted: 0, refused: PROMOTIONS });
}, 600_000);
