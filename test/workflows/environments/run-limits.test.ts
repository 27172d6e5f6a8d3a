/**
 * Setup, refresh and rollback under the plans' limits (the emulator's presets, and a worker configured with the same
 * figures): what does not fit is refused before any change, in one line naming the limit. On Free the fork point holds
 * the only manual snapshot slot, so a refresh cannot take prod's snapshot; on Launch, once prod, dev and three backups
 * hold its five root branches, neither a refresh nor a rollback can restore.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { PLAN_LIMITS } from '../../../src/activities';
import { inventory, mutatingCalls, uriOf } from '../../support/emulator-api';
import { sql } from '../../support/postgres';
import { neonActivities, seedProd, type Stack, startStack } from '../../support/workflow-stack';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename);
});
afterAll(async () => s?.stop());
afterEach(() => s.emu.setLimits({ plan: 'scale' }));

const mutating = (): string[] => mutatingCalls(s.emu);

async function holdings(projectId: string) {
  const { branches, snapshots } = await inventory(s.emu, projectId);
  const named = (items: { id: string; name: string }[]) => items.map(({ id, name }) => `${id} ${name}`).sort();
  return { branches: named(branches), snapshots: named(snapshots) };
}

/** The run's refusal: its failure type and message, nothing changed at Neon meanwhile. */
async function refusedUpFront(projectId: string, start: () => Promise<{ result(): Promise<unknown> }>) {
  const before = await holdings(projectId);
  s.emu.resetRequestLog();
  const err: unknown = await (await start()).result().then(
    () => new Error('not refused'),
    (e: unknown) => e,
  );
  const cause = (err instanceof WorkflowFailedError ? err.cause : err) as Error & { type?: string };
  expect(cause.message.split('\n')).toHaveLength(1);
  expect(mutating()).toEqual([]);
  expect(await holdings(projectId)).toEqual(before);
  return { type: cause.type, message: cause.message };
}

test('on Free a setup fits; a refresh is refused up front: the fork point holds the only snapshot slot', async () => {
  s.emu.setLimits({ plan: 'free' });
  const { rootBranchLimit, snapshotLimit } = PLAN_LIMITS.free;
  const worker = await s.worker(neonActivities(s.emu, snapshotLimit, rootBranchLimit));
  await worker.runUntil(async () => {
    const p = await seedProd(s.emu, 3);
    expect((await (await s.client.startSetup({ projectId: p.projectId })).result()).outcome).toBe('created');
    const refused = await refusedUpFront(p.projectId, () =>
      s.client.startRefresh({ projectId: p.projectId, force: true }),
    );
    expect(refused.type).toBe('SnapshotQuota');
    expect(refused.message).toMatch(
      /a refresh needs 1 free snapshot slot\(s\); project \S+ has 0 of 1 \(the plan's limit of manual snapshots\)/,
    );
  });
}, 120_000);

test('on Launch, with its five root branches taken, a refresh and a rollback are refused up front', async () => {
  s.emu.setLimits({ plan: 'launch' });
  const { rootBranchLimit, snapshotLimit } = PLAN_LIMITS.launch;
  const worker = await s.worker(neonActivities(s.emu, snapshotLimit, rootBranchLimit));
  await worker.runUntil(async () => {
    const p = await seedProd(s.emu, 3);
    await (await s.client.startSetup({ projectId: p.projectId })).result();
    expect((await s.client.promote({ projectId: p.projectId })).outcome).toBe('promoted');
    await sql(await uriOf(s.emu, p, 'dev'), `UPDATE items SET source = 'dev'`);
    const failing = [{ kind: 'sql' as const, name: 'smoke', sql: 'SELECT 1', expect: { value: 2 } }];
    expect((await s.client.promote({ projectId: p.projectId, postSwapChecks: failing })).outcome).toBe('rolled_back');
    // prod, dev and three backups (each kept for an hour).
    const roots = (await inventory(s.emu, p.projectId)).branches.filter((branch) => !branch.parent_id);
    expect(roots).toHaveLength(rootBranchLimit);

    const refresh = await refusedUpFront(p.projectId, () =>
      s.client.startRefresh({ projectId: p.projectId, force: true }),
    );
    expect(refresh.type).toBe('RootBranchLimit');
    expect(refresh.message).toMatch(
      /a refresh needs 1 free root branch\(es\) for its snapshot restore; project \S+ has 5 of 5 \(the plan's limit of root branches\)/,
    );
    const rollback = await refusedUpFront(p.projectId, () => s.client.startRollback({ projectId: p.projectId }));
    expect(rollback.type).toBe('RootBranchLimit');
    expect(rollback.message).toMatch(/^(refused: )?a rollback needs 1 free root branch\(es\) .* has 5 of 5 /);
  });
}, 180_000);
