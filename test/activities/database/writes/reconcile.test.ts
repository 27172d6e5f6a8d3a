import type { ConflictRule, ReconcileInput } from '../../../../src/activities';
import { failureOf, type Harness, startHarness } from '../../../support/activity-harness';
import { seedProd } from '../../../support/activity-prod';
import { sql } from '../../../support/postgres';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ mode: 'data' });
}, 120_000);
afterAll(() => h?.stop());

/**
 * A promotion with late writes: dev changed items 2, 3 and added 11; after the rollback snapshot prod received
 * inserts (11, 12), updates (2, 4), deletes (3, 5) and counter changes; then dev's snapshot replaced prod. Returns
 * the reconcile input (old prod as source, the snapshot restored without finalize as base, the new prod as target).
 */
async function promotedWithLateWrites() {
  const prod = await seedProd(h, 10);
  await sql(
    prod.connectionUri,
    `CREATE TABLE counters (tenant text, name text, value int NOT NULL, updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
       PRIMARY KEY (tenant, name));
     INSERT INTO counters (tenant, name, value) VALUES ('t1', 'a', 1), ('t1', 'b', 2)`,
  );
  const dev = await prod.forkDev();
  await sql(
    await prod.uriOf(dev.id),
    `UPDATE items SET label = 'dev 2' WHERE id = 2; DELETE FROM items WHERE id = 3;
     INSERT INTO items (label, source) VALUES ('dev new', 'dev')`,
  );
  const at = await h.run(h.activities.recordWritePosition, { ...prod.where, branchId: prod.branchId });
  const rollback = await prod.snapshot(prod.branchId, 'np-rollback');
  await sql(
    prod.connectionUri,
    `INSERT INTO items (label, source) VALUES ('late a', 'prod'), ('late b', 'prod');
     UPDATE items SET label = 'prod 2' WHERE id = 2; UPDATE items SET label = 'prod 4' WHERE id = 4;
     DELETE FROM items WHERE id IN (3, 5);
     UPDATE counters SET value = 99, updated_at = clock_timestamp() WHERE tenant = 't1' AND name = 'a';
     INSERT INTO counters (tenant, name, value) VALUES ('t2', 'z', 7)`,
  );
  const newProd = await prod.swap(await prod.snapshot(dev.id, 'np-candidate'), prod.branchId);
  const base = await h.run(h.activities.restoreSnapshot, {
    projectId: prod.projectId,
    snapshotId: rollback,
    targetBranchId: prod.branchId,
    finalize: false,
    name: 'np-base',
  });
  await prod.settle(base);
  const input = (onConflict: ConflictRule, extra: Partial<ReconcileInput> = {}): ReconcileInput => ({
    ...prod.where,
    sourceBranchId: prod.branchId,
    sourceEndpointId: oldEp,
    baseBranchId: base.branch.id,
    baseEndpointId: baseEp,
    targetBranchId: newProd,
    tables: [
      { table: 'items', key: ['id'] },
      { table: 'public.counters', key: ['tenant', 'name'] },
    ],
    onConflict,
    ...extra,
  });
  const [oldEp, baseEp] = [
    await prod.endpoint(prod.branchId, 'read_only'),
    await prod.endpoint(base.branch.id, 'read_only'),
  ];
  const dump = async () => ({
    items: await sql(prod.connectionUri, 'SELECT id, label FROM items ORDER BY id'),
    counters: await sql(prod.connectionUri, 'SELECT tenant, name, value FROM counters ORDER BY 1, 2'),
  });
  return { prod, input, dump, since: at.at };
}

const labels = (rows: Record<string, unknown>[]): Record<string, unknown> =>
  Object.fromEntries(rows.map((r) => [String(r.id), r.label]));

describe('reconcileLateWrites (three-way, base = the rollback snapshot)', () => {
  it('keep_prod: copies late inserts, updates and deletes; late writes win conflicts; sequences move past them', async () => {
    const { prod, input, dump } = await promotedWithLateWrites();
    const res = await h.run(h.activities.reconcileLateWrites, input('keep_prod'));
    expect(res).toMatchObject({ mode: 'three_way', dryRun: false });
    expect(res.tables[0]).toMatchObject({
      table: 'items',
      lateWrites: { inserts: 2, updates: 2, deletes: 2, upserts: 0 },
      inserted: 1, // 12; 11 exists on dev too (a conflict), so it is an update
      updated: 3,
      deleted: 1,
      alreadyPresent: 1, // 3, deleted on both sides
      conflicts: 2,
      deletesDetected: true,
    });
    expect([...res.tables[0]!.sampleConflictKeys].sort()).toEqual(['{"id": 11}', '{"id": 2}']);
    expect(res.tables[0]!.sequencesAdvanced).toEqual(['public.items_id_seq']);
    expect(res.tables[1]).toMatchObject({ inserted: 1, updated: 1, deleted: 0, conflicts: 0 });
    const after = await dump();
    expect(labels(after.items)).toEqual({
      1: 'item 1',
      2: 'prod 2',
      4: 'prod 4',
      6: 'item 6',
      7: 'item 7',
      8: 'item 8',
      9: 'item 9',
      10: 'item 10',
      11: 'late a',
      12: 'late b',
    });
    expect(after.counters).toEqual([
      { tenant: 't1', name: 'a', value: 99 },
      { tenant: 't1', name: 'b', value: 2 },
      { tenant: 't2', name: 'z', value: 7 },
    ]);
    // The application's next insert gets a fresh id instead of colliding with a copied row.
    expect(
      await sql(prod.connectionUri, "INSERT INTO items (label, source) VALUES ('next', 'app') RETURNING id"),
    ).toEqual([{ id: 13 }]);
    // Run again (a retry after a lost response): everything is already there, nothing is written twice.
    const again = await h.run(h.activities.reconcileLateWrites, input('keep_prod'), 2);
    expect(again.tables.map((t) => [t.inserted, t.updated, t.deleted])).toEqual([
      [0, 0, 0],
      [0, 0, 0],
    ]);
  });

  it("keep_dev: copies the clean late writes and leaves the new prod's row where both sides changed it", async () => {
    const { input, dump } = await promotedWithLateWrites();
    const res = await h.run(h.activities.reconcileLateWrites, input('keep_dev'));
    expect(res.tables[0]).toMatchObject({ inserted: 1, updated: 1, deleted: 1, conflicts: 2 });
    expect(labels((await dump()).items)).toMatchObject({ 2: 'dev 2', 4: 'prod 4', 11: 'dev new', 12: 'late b' });
    expect(labels((await dump()).items)[5]).toBeUndefined();
  });

  it('fail: refuses with the conflicting keys and writes nothing; a dry run counts without writing', async () => {
    const { input, dump } = await promotedWithLateWrites();
    const before = await dump();
    const f = await failureOf(h.run(h.activities.reconcileLateWrites, input('fail')));
    expect(f).toMatchObject({ type: 'ReconcileConflict', nonRetryable: true });
    expect(f.details[0]).toMatchObject({ conflicts: [{ table: 'items', count: 2 }] });
    expect(await dump()).toEqual(before);
    const dry = await h.run(h.activities.reconcileLateWrites, input('keep_prod', { dryRun: true }));
    expect(dry.tables[0]).toMatchObject({ inserted: 1, updated: 3, deleted: 1, conflicts: 2 });
    expect(await dump()).toEqual(before);
  });

  it('without a base: rows stamped after the snapshot are upserted, deletes are not claimed', async () => {
    const { input, dump, since } = await promotedWithLateWrites();
    const res = await h.run(
      h.activities.reconcileLateWrites,
      input('keep_prod', {
        baseBranchId: undefined,
        baseEndpointId: undefined,
        since,
        tables: [{ table: 'counters', key: ['tenant', 'name'], timestampColumn: 'updated_at' }],
      }),
    );
    expect(res).toMatchObject({ mode: 'timestamp' });
    expect(res.tables[0]).toMatchObject({
      lateWrites: { upserts: 2 },
      inserted: 1,
      updated: 1,
      deletesDetected: false,
    });
    expect((await dump()).counters).toContainEqual({ tenant: 't1', name: 'a', value: 99 });
  });

  it('refuses names that are not an existing table, column or unique key', async () => {
    const { input } = await promotedWithLateWrites();
    const bad = async (table: string, key: string[]) =>
      failureOf(h.run(h.activities.reconcileLateWrites, input('keep_prod', { tables: [{ table, key }] })));
    expect(await bad('items; DROP TABLE items', ['id'])).toMatchObject({
      type: 'ReconcileFailed',
      message: expect.stringMatching(/does not exist/) as string,
    });
    expect(await bad('a.b.c', ['id'])).toMatchObject({ type: 'ReconcileFailed' });
    expect(await bad('items', ['id"; --'])).toMatchObject({
      type: 'ReconcileFailed',
      message: expect.stringMatching(/no column/) as string,
    });
    expect(await bad('items', ['label'])).toMatchObject({
      type: 'ReconcileFailed',
      message: expect.stringMatching(/not a primary key/) as string,
    });
  });
});
