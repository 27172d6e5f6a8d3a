/**
 * Promotions under the plans' limits (the emulator's presets, and a worker configured with the same figures): on Free a
 * promotion is refused before any change, in one line naming the limit; on Launch a promotion and its automatic
 * rollback fit; on a paid plan with the earlier docs' 10 manual snapshots, ten promotions in a row rotate their
 * rollback points instead of running out of room.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { PLAN_LIMITS } from '../../../src/activities';
import type { PromoteInput } from '../../../src/workflows/contract/inputs';
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

async function setUp(rows = 3) {
  const p = await seedProd(s.emu, rows);
  await (await s.client.startSetup({ projectId: p.projectId })).result();
  return p;
}

/** What the project holds, by ID and name (a branch's `restore_status` moves on by itself: `detaching` ends). */
async function holdings(projectId: string) {
  const { branches, snapshots } = await inventory(s.emu, projectId);
  const named = (items: { id: string; name: string }[]) => items.map(({ id, name }) => `${id} ${name}`).sort();
  return { branches: named(branches), snapshots: named(snapshots) };
}

const roots = async (projectId: string) =>
  (await inventory(s.emu, projectId)).branches.filter((branch) => !branch.parent_id).length;

/** The refusal's failure type and message, or a note that the promotion was not refused. */
async function refusal(input: PromoteInput): Promise<{ type?: string; message: string }> {
  const err: unknown = await s.client.promote(input).then(
    (r) => new Error(`not refused: ${r.outcome}`),
    (e: unknown) => e,
  );
  const cause = err instanceof WorkflowFailedError ? err.cause : err;
  return { type: (cause as { type?: string }).type, message: (cause as Error).message };
}

test('on Free a promotion is refused before any change, in one line naming the limit', async () => {
  s.emu.setLimits({ plan: 'free' });
  const { rootBranchLimit, snapshotLimit } = PLAN_LIMITS.free;
  const worker = await s.worker(neonActivities(s.emu, snapshotLimit, rootBranchLimit));
  await worker.runUntil(async () => {
    const p = await setUp();
    const before = await holdings(p.projectId);
    s.emu.resetRequestLog();
    const snapshots = await refusal({ projectId: p.projectId });
    expect(snapshots.type).toBe('SnapshotQuota');
    expect(snapshots.message).toMatch(
      /needs 2 free snapshot slots; .* has 0 of 1 \(the plan's limit of manual snapshots\)/,
    );
    expect(snapshots.message.split('\n')).toHaveLength(1);
    expect(mutating()).toEqual([]);
    expect(await holdings(p.projectId)).toEqual(before);
  });
  // A worker that knows only the root-branch limit refuses on that one: the candidate and the rollback's restore do
  // not fit beside prod and dev.
  const rootsOnly = await s.worker(neonActivities(s.emu, null, rootBranchLimit));
  await rootsOnly.runUntil(async () => {
    const p = await setUp();
    const before = await holdings(p.projectId);
    s.emu.resetRequestLog();
    const rootsRefusal = await refusal({ projectId: p.projectId });
    expect(rootsRefusal.type).toBe('RootBranchLimit');
    expect(rootsRefusal.message).toMatch(
      /needs 2 free root branches .* has 2 of 3 \(the plan's limit of root branches\)/,
    );
    expect(mutating()).toEqual([]);
    expect(await holdings(p.projectId)).toEqual(before);
  });
});

test('on Launch a promotion and its automatic rollback fit beside a backup; the next one is refused up front', async () => {
  s.emu.setLimits({ plan: 'launch' });
  const { rootBranchLimit, snapshotLimit } = PLAN_LIMITS.launch;
  const worker = await s.worker(neonActivities(s.emu, snapshotLimit, rootBranchLimit));
  await worker.runUntil(async () => {
    const p = await setUp();
    expect((await s.client.promote({ projectId: p.projectId })).outcome).toBe('promoted');
    // prod, dev and the replaced prod, kept as a backup for an hour.
    expect(await roots(p.projectId)).toBe(3);
    await sql(await uriOf(s.emu, p, 'dev'), `UPDATE items SET source = 'dev'`);
    const r = await s.client.promote({
      projectId: p.projectId,
      postSwapChecks: [{ kind: 'sql', name: 'smoke', sql: 'SELECT count(*) FROM items', expect: { value: 999 } }],
    });
    expect(r.outcome).toBe('rolled_back');
    expect(r.reason).toContain('smoke');
    expect(await roots(p.projectId)).toBe(rootBranchLimit);
    // prod, dev and three backups: a promotion would not fit, and is refused before it makes anything.
    const before = await holdings(p.projectId);
    s.emu.resetRequestLog();
    const refused = await refusal({ projectId: p.projectId });
    expect(refused.type).toBe('RootBranchLimit');
    expect(refused.message).toMatch(
      /has 5 of 5 \(the plan's limit of root branches\); our backups hold 3, the first until /,
    );
    expect(mutating()).toEqual([]);
    expect(await holdings(p.projectId)).toEqual(before);
  });
});

test("ten promotions in a row on a paid plan with the earlier docs' 10 manual snapshots: rollback points rotate", async () => {
  s.emu.setLimits({ plan: 'scale', snapshotQuota: 10 });
  const worker = await s.worker(neonActivities(s.emu, 10, PLAN_LIMITS.scale.rootBranchLimit));
  await worker.runUntil(async () => {
    const p = await setUp(2);
    const rotated: string[] = [];
    let newest: string | null = null;
    for (let i = 0; i < 10; i++) {
      const r = await s.client.promote({ projectId: p.projectId });
      expect(r.outcome).toBe('promoted');
      rotated.push(...r.plan.rotatedSnapshots.map(({ name }) => name));
      newest = r.rollbackSnapshotId;
    }
    expect(rotated.every((name) => name.startsWith('np-rollback-'))).toBe(true);
    const { snapshots } = await inventory(s.emu, p.projectId);
    // The fork point and the newest rollback points that fit: each run rotated out the oldest it needed room for.
    expect(snapshots.length).toBeLessThanOrEqual(10);
    expect(snapshots.filter(({ name }) => name.startsWith('np-fork-'))).toHaveLength(1);
    expect(rotated.length).toBeGreaterThan(0);
    expect(snapshots.map(({ name }) => name)).not.toEqual(expect.arrayContaining([rotated[0]]));
    // The last promotion's rollback point is prod's way back: it stays.
    expect(snapshots.map(({ id }) => id)).toContain(newest);
  });
});
