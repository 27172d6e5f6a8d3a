import type { ReconcileInput } from '../../../../src/activities';
import { failureOf, type Harness, startHarness } from '../../../support/activity-harness';
import { sql } from '../../../support/postgres';
import { forked, forkedWords, type Forked } from './fork';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ mode: 'data' });
}, 120_000);
afterAll(() => h?.stop());

/** Prod's writes since the fork carried into dev (the target), with the fork point as the base. */
const carry = ({ prod, base, dev }: Forked, tables: ReconcileInput['tables'], dryRun = false): ReconcileInput => ({
  ...prod.where,
  sourceBranchId: prod.branchId,
  baseBranchId: base.branchId,
  baseEndpointId: base.endpointId,
  targetBranchId: dev.branchId,
  targetEndpointId: dev.endpointId,
  tables,
  onConflict: 'keep_prod',
  dryRun,
});

const ORDERS = `CREATE TABLE orders (id int PRIMARY KEY, qty int, note text, legacy text);
  INSERT INTO orders SELECT g, g, 'n' || g, 'old ' || g FROM generate_series(1, 5) g;
  CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes VALUES (1, 'a')`;

describe("reconcileLateWrites onto dev's schema (base = the fork point)", () => {
  it('takes defaults for columns dev added; leaves out columns dev dropped or prod added that prod wrote nothing to', async () => {
    const fork = await forked(h, ORDERS);
    // Row 2's legacy value predates the fork: dev dropped it knowingly, the update does not make it prod's new data.
    await sql(
      fork.prod.connectionUri,
      `ALTER TABLE orders ADD COLUMN extra text;
       INSERT INTO orders (id, qty, note) VALUES (6, 6, 'prod 6');
       UPDATE orders SET note = 'prod 2' WHERE id = 2; DELETE FROM orders WHERE id = 3`,
    );
    await sql(
      fork.dev.uri,
      `ALTER TABLE orders ADD COLUMN score int NOT NULL DEFAULT 7; ALTER TABLE orders DROP COLUMN legacy;
       UPDATE orders SET qty = 40 WHERE id = 4`,
    );
    const dry = await h.run(h.activities.reconcileLateWrites, carry(fork, [{ table: 'orders', key: ['id'] }], true));
    expect(dry.tables[0]).toMatchObject({ inserted: 1, updated: 1, deleted: 1, columnsLeftOut: ['legacy', 'extra'] });
    const res = await h.run(h.activities.reconcileLateWrites, carry(fork, [{ table: 'orders', key: ['id'] }]));
    expect(res.tables[0]).toMatchObject({
      lateWrites: { inserts: 1, updates: 1, deletes: 1, upserts: 0 },
      inserted: 1,
      updated: 1,
      deleted: 1,
      conflicts: 0,
      columnsLeftOut: ['legacy', 'extra'],
    });
    expect(await sql(fork.dev.uri, 'SELECT id, qty, note, score FROM orders ORDER BY id')).toEqual([
      { id: 1, qty: 1, note: 'n1', score: 7 },
      { id: 2, qty: 2, note: 'prod 2', score: 7 },
      { id: 4, qty: 40, note: 'n4', score: 7 },
      { id: 5, qty: 5, note: 'n5', score: 7 },
      { id: 6, qty: 6, note: 'prod 6', score: 7 },
    ]);
  });

  it('fails, also as a dry run, naming each column or table prod wrote to that dev dropped or retyped', async () => {
    const fork = await forked(h, ORDERS);
    await sql(
      fork.prod.connectionUri,
      `ALTER TABLE orders ADD COLUMN extra text;
       INSERT INTO orders (id, qty, note, legacy, extra) VALUES (6, NULL, 'n6', 'prod legacy', 'prod extra');
       UPDATE orders SET qty = 20 WHERE id = 2; INSERT INTO notes VALUES (2, 'b')`,
    );
    await sql(
      fork.dev.uri,
      `ALTER TABLE orders DROP COLUMN legacy; ALTER TABLE orders ALTER COLUMN qty TYPE numeric(10,2); DROP TABLE notes`,
    );
    const before = await sql(fork.dev.uri, 'SELECT * FROM orders ORDER BY id');
    const tables = [
      { table: 'orders', key: ['id'] },
      { table: 'notes', key: ['id'] },
    ];
    for (const dryRun of [true, false]) {
      const f = await failureOf(h.run(h.activities.reconcileLateWrites, carry(fork, tables, dryRun)));
      expect(f).toMatchObject({ type: 'ReconcileSchemaConflict', nonRetryable: true });
      expect(f.message).toContain(
        'column orders.qty retyped on dev from integer to numeric(10,2), column orders.legacy dropped on dev, ' +
          'column orders.extra added on prod since the fork, not on dev, table notes dropped on dev; nothing was copied',
      );
      expect(f.details[0]).toEqual({
        schemaConflicts: [
          { table: 'orders', column: 'qty', problem: 'retyped on dev from integer to numeric(10,2)' },
          { table: 'orders', column: 'legacy', problem: 'dropped on dev' },
          { table: 'orders', column: 'extra', problem: 'added on prod since the fork, not on dev' },
          { table: 'notes', column: null, problem: 'dropped on dev' },
        ],
      });
    }
    expect(await sql(fork.dev.uri, 'SELECT * FROM orders ORDER BY id')).toEqual(before);
  });

  it('matches text keys in the order Postgres sorts them, also where UTF-16 order differs', async () => {
    const fork = await forkedWords(h);
    const res = await h.run(h.activities.reconcileLateWrites, carry(fork, [{ table: 'words', key: ['w'] }]));
    expect(res.tables[0]).toMatchObject({
      lateWrites: { inserts: 3, updates: 2, deletes: 2 },
      inserted: 3,
      updated: 2,
      deleted: 2,
    });
    const rows = (uri: string) => sql(uri, 'SELECT w, n FROM words ORDER BY w COLLATE "C"');
    expect(await rows(fork.dev.uri)).toEqual(await rows(fork.prod.connectionUri));
  });
});
