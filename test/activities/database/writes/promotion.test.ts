/**
 * The activities in the order promote is to call them (fence and reconcile policies), with a writer inserting into
 * prod every few milliseconds throughout. A snapshot promotion replaces prod's data with dev's by design, so the
 * promise checked is the issue's: every acknowledged row is in the rollback snapshot or in the new prod, none only
 * on the "(old)" backup.
 */
import { startWriter, type Writer } from '../../../support/writer';
import { type Harness, startHarness } from '../../../support/activity-harness';
import { type Prod, seedProd } from '../../../support/activity-prod';
import { sql } from '../../../support/postgres';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ mode: 'data' });
}, 120_000);
afterAll(() => h?.stop());
// A failed assertion must not leave a writer process running (stop() is idempotent).
const writers: Writer[] = [];
afterEach(async () => void (await Promise.all(writers.splice(0).map((w) => w.stop()))));

async function start(): Promise<{ prod: Prod; devId: string; writer: Writer }> {
  const prod = await seedProd(h, 3);
  await sql(prod.connectionUri, 'CREATE TABLE writes (id bigint PRIMARY KEY, note text)');
  const dev = await prod.forkDev();
  const writer = startWriter({ connectionString: prod.connectionUri, intervalMs: 3 });
  writers.push(writer);
  await writer.waitForCommits(20);
  return { prod, devId: dev.id, writer };
}

/** Ids in `writes` on a branch without compute (the "(old)" backup, or a snapshot restored without finalize). */
async function idsOn(prod: Prod, branchId: string, endpointId?: string): Promise<Set<number>> {
  const ep = endpointId ?? (await prod.endpoint(branchId, 'read_only'));
  const rows = await sql<{ id: string }>(await prod.uriOf(branchId, ep), 'SELECT id FROM writes');
  return new Set(rows.map((r) => Number(r.id)));
}

async function restoreBase(prod: Prod, snapshotId: string): Promise<{ id: string; endpointId: string }> {
  const r = await h.run(h.activities.restoreSnapshot, {
    projectId: prod.projectId,
    snapshotId,
    targetBranchId: prod.branchId,
    finalize: false,
    name: 'np-rollback-state',
  });
  await prod.settle(r);
  return { id: r.branch.id, endpointId: await prod.endpoint(r.branch.id, 'read_only') };
}

const missing = (committed: number[], ...sets: Set<number>[]) => committed.filter((id) => !sets.some((s) => s.has(id)));

describe('a promotion with a writer on prod', () => {
  it('fence: nothing is accepted between the rollback snapshot and the swap; nothing acknowledged is lost', async () => {
    const { prod, devId, writer } = await start();
    const fence = await h.run(h.activities.fenceWrites, { ...prod.where, branchId: prod.branchId });
    const baseline = await h.run(h.activities.recordWritePosition, { ...prod.where, branchId: prod.branchId });
    expect(baseline.databaseReadOnly).toBe(true);
    const rollback = await prod.snapshot(prod.branchId, 'np-rollback');
    await writer.waitForError('25006');
    const check = await h.run(h.activities.recordWritePosition, {
      ...prod.where,
      branchId: prod.branchId,
      since: baseline,
      failOnWrites: true,
    });
    expect(check.comparison).toMatchObject({ writesDetected: false, exact: true });
    const newProd = await prod.swap(await prod.snapshot(devId, 'np-candidate'), prod.branchId);
    const lifts = [
      await h.run(h.activities.liftFence, { ...prod.where, branchName: 'main', fencedAt: fence.fencedAt }),
      await h.run(h.activities.liftFence, { ...prod.where, branchId: prod.branchId }),
    ];
    expect(lifts.map((l) => l.branchId)).toEqual([newProd, prod.branchId]);
    await writer.waitForCommits(20); // writing again, on the new prod
    const { committed } = await writer.stop();

    const base = await restoreBase(prod, rollback);
    const atSnapshot = await idsOn(prod, base.id, base.endpointId);
    const old = await idsOn(prod, prod.branchId);
    expect([...old].sort()).toEqual([...atSnapshot].sort()); // the backup got nothing after the snapshot
    expect(missing(committed, atSnapshot, await idsOn(prod, newProd, prod.endpointId))).toEqual([]);
  });

  it('reconcile: late writes reach the new prod; without it they would be only on the backup', async () => {
    const { prod, devId, writer } = await start();
    const rollback = await prod.snapshot(prod.branchId, 'np-rollback');
    await writer.waitForCommits(30); // late writes: after the snapshot, before the swap
    const newProd = await prod.swap(await prod.snapshot(devId, 'np-candidate'), prod.branchId);
    await writer.waitForCommits(20);
    const { committed } = await writer.stop();

    const base = await restoreBase(prod, rollback);
    const atSnapshot = await idsOn(prod, base.id, base.endpointId);
    const oldEp = await prod.endpoint(prod.branchId, 'read_only');
    const lost = missing(committed, atSnapshot, await idsOn(prod, newProd, prod.endpointId));
    expect(lost.length).toBeGreaterThanOrEqual(30); // what `ignore` loses (reported: lateWrites.inserts below)

    const input = {
      ...prod.where,
      sourceBranchId: prod.branchId,
      sourceEndpointId: oldEp,
      baseBranchId: base.id,
      baseEndpointId: base.endpointId,
      targetBranchId: newProd,
      tables: [{ table: 'writes', key: ['id'] }],
      onConflict: 'fail' as const,
    };
    const dry = await h.run(h.activities.reconcileLateWrites, { ...input, dryRun: true });
    // Acknowledged late rows, plus any whose commit went through while its acknowledgement was lost in the swap.
    expect(dry.tables[0]!.lateWrites.inserts).toBeGreaterThanOrEqual(lost.length);
    const res = await h.run(h.activities.reconcileLateWrites, input);
    expect(res.tables[0]).toMatchObject({ inserted: dry.tables[0]!.lateWrites.inserts, conflicts: 0 });
    expect(missing(committed, atSnapshot, await idsOn(prod, newProd, prod.endpointId))).toEqual([]);
  });
});
