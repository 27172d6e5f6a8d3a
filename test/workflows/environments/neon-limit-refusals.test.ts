/**
 * Neon's refusal for a plan limit met in the middle of a run (the worker does not know the limits, the emulator's are
 * set low): the run undoes what it made and ends as a refusal naming the limit, not as a failure. Neon's answer is
 * authoritative. Setup, refresh and rollback are refused at their restore (root branches), a promotion at its
 * snapshot (manual snapshots).
 */
import { WorkflowFailedError } from '@temporalio/client';
import { inventory, uriOf } from '../../support/emulator-api';
import { sql } from '../../support/postgres';
import { neonActivities, seedProd, type Stack, startStack } from '../../support/workflow-stack';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename);
});
afterAll(async () => s?.stop());
afterEach(() => s.emu.setLimits({ plan: 'scale' }));

async function holdings(projectId: string) {
  const { branches, snapshots } = await inventory(s.emu, projectId);
  const named = (items: { id: string; name: string }[]) => items.map(({ id, name }) => `${id} ${name}`).sort();
  return { branches: named(branches), snapshots: named(snapshots) };
}

/** The run's failure: a refusal of `type` whose one line names `limit`, and the project as it was before the run. */
async function refusedMidway(
  projectId: string,
  start: () => Promise<{ result(): Promise<unknown> }>,
  type: string,
  limit: RegExp,
): Promise<void> {
  const before = await holdings(projectId);
  const err: unknown = await (await start()).result().then(
    () => new Error('not refused'),
    (e: unknown) => e,
  );
  const cause = (err instanceof WorkflowFailedError ? err.cause : err) as Error & { type?: string };
  expect(cause.message).toMatch(limit);
  expect(cause.type).toBe(type);
  expect(cause.message.split('\n')).toHaveLength(1);
  expect(await holdings(projectId)).toEqual(before);
}

const ROOTS =
  /Neon refused the run for the plan's limit of root branches \(.*422 BRANCHES_LIMIT_EXCEEDED.*\); what the run had made is undone/;

test("setup, refresh and rollback meet Neon's root-branch limit at their restore: refused, what they made undone", async () => {
  const worker = await s.worker(neonActivities(s.emu, null, null));
  await worker.runUntil(async () => {
    const fresh = await seedProd(s.emu, 3);
    s.emu.setLimits({ rootBranchLimit: 1 });
    await refusedMidway(
      fresh.projectId,
      () => s.client.startSetup({ projectId: fresh.projectId }),
      'RootBranchLimit',
      ROOTS,
    );

    s.emu.setLimits({ plan: 'scale' });
    const p = await seedProd(s.emu, 3);
    await (await s.client.startSetup({ projectId: p.projectId })).result();
    expect((await s.client.promote({ projectId: p.projectId })).outcome).toBe('promoted');
    // prod, dev and the replaced prod: no room for another restore.
    s.emu.setLimits({ rootBranchLimit: 3 });
    await refusedMidway(
      p.projectId,
      () => s.client.startRefresh({ projectId: p.projectId, force: true }),
      'RootBranchLimit',
      ROOTS,
    );
    await refusedMidway(
      p.projectId,
      () => s.client.startRollback({ projectId: p.projectId }),
      'RootBranchLimit',
      ROOTS,
    );
  });
}, 180_000);

test("a promotion meets Neon's snapshot limit at its first snapshot: refused, what it made undone", async () => {
  const worker = await s.worker(neonActivities(s.emu, null, null));
  await worker.runUntil(async () => {
    const p = await seedProd(s.emu, 3);
    await (await s.client.startSetup({ projectId: p.projectId })).result();
    await sql(await uriOf(s.emu, p, 'dev'), `UPDATE items SET source = 'dev'`);
    // The fork point holds the only slot.
    s.emu.setLimits({ snapshotQuota: 1 });
    await refusedMidway(
      p.projectId,
      () => s.client.startPromotion({ projectId: p.projectId }),
      'SnapshotQuota',
      /Neon refused the run for the plan's limit of manual snapshots \(.*422 SNAPSHOTS_LIMIT_EXCEEDED.*\); what the run had made is undone/,
    );
  });
}, 120_000);
