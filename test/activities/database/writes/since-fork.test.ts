import type { DiffSinceForkInput } from '../../../../src/activities';
import { failureOf, type Harness, startHarness } from '../../../support/activity-harness';
import { sql } from '../../../support/postgres';
import { forked, forkedWords, type Forked } from './fork';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ mode: 'data' });
}, 120_000);
afterAll(() => h?.stop());

const diffInput = ({ prod, base }: Forked, extra: Partial<DiffSinceForkInput> = {}): DiffSinceForkInput => ({
  ...prod.where,
  baseBranchId: base.branchId,
  baseEndpointId: base.endpointId,
  sourceBranchId: prod.branchId,
  ...extra,
});

describe('diffSinceFork', () => {
  it('counts per table what prod inserted, updated and deleted since the fork, with a key and without one', async () => {
    const fork = await forked(
      h,
      `CREATE TABLE events (at int, what text);
       INSERT INTO events VALUES (1, 'a'), (1, 'a'), (2, 'b'), (3, 'c');
       CREATE TABLE untouched (id int PRIMARY KEY); INSERT INTO untouched SELECT generate_series(1, 50);
       CREATE TABLE gone (id int); CREATE SCHEMA other; CREATE TABLE other.elsewhere (id int PRIMARY KEY)`,
    );
    await sql(
      fork.prod.connectionUri,
      `INSERT INTO items (label, source) VALUES ('new a', 'prod'), ('new b', 'prod');
       UPDATE items SET label = 'changed' WHERE id IN (2, 7); DELETE FROM items WHERE id = 9;
       DELETE FROM events WHERE ctid = (SELECT min(ctid) FROM events WHERE at = 1);
       UPDATE events SET what = 'c2' WHERE at = 3; INSERT INTO events VALUES (4, 'd');
       DROP TABLE gone; CREATE TABLE fresh (id int); INSERT INTO other.elsewhere VALUES (1)`,
    );
    const res = await h.run(h.activities.diffSinceFork, diffInput(fork));
    expect(res).toEqual({
      tables: [
        // One of two equal rows deleted counts: rows are a multiset. The update is a delete and an insert.
        { table: 'public.events', key: null, exact: false, inserts: 2, updates: 0, deletes: 2, sampleKeys: [] },
        {
          table: 'public.items',
          key: ['id'],
          exact: true,
          inserts: 2,
          updates: 2,
          deletes: 1,
          sampleKeys: ['{"id": 11}', '{"id": 12}', '{"id": 2}', '{"id": 7}', '{"id": 9}'],
        },
      ],
      tablesAdded: ['public.fresh'],
      tablesDropped: ['public.gone'],
      rowsChanged: 9,
      tablesCompared: 3,
    });
    // Another schema is compared when named, or when a key names one of its tables.
    for (const extra of [{ schemas: ['public', 'other'] }, { keys: [{ table: 'other.elsewhere', key: ['id'] }] }]) {
      const both = await h.run(h.activities.diffSinceFork, diffInput(fork, extra));
      expect(both.tables.map((table) => [table.table, table.inserts])).toEqual([
        ['other.elsewhere', 1],
        ['public.events', 2],
        ['public.items', 2],
      ]);
    }
  });

  it('matches rows by a named key instead of the primary key, and refuses a key that is not unique', async () => {
    const fork = await forked(
      h,
      `CREATE TABLE accounts (id int PRIMARY KEY, email text NOT NULL UNIQUE, plan text NOT NULL);
       INSERT INTO accounts VALUES (1, 'a@x', 'free'), (2, 'b@x', 'free')`,
    );
    // The row keeps its email and gets another id: by id a delete and an insert, by email one update.
    await sql(fork.prod.connectionUri, `UPDATE accounts SET id = 20, plan = 'pro' WHERE id = 2`);
    const accounts = async (keys?: DiffSinceForkInput['keys']) =>
      (await h.run(h.activities.diffSinceFork, diffInput(fork, { keys }))).tables;
    expect(await accounts()).toEqual([
      expect.objectContaining({ table: 'public.accounts', key: ['id'], inserts: 1, updates: 0, deletes: 1 }),
    ]);
    expect(await accounts([{ table: 'accounts', key: ['email'] }])).toEqual([
      {
        table: 'public.accounts',
        key: ['email'],
        exact: true,
        inserts: 0,
        updates: 1,
        deletes: 0,
        sampleKeys: ['{"email": "b@x"}'],
      },
    ]);
    const refused = async (keys: DiffSinceForkInput['keys']) =>
      failureOf(h.run(h.activities.diffSinceFork, diffInput(fork, { keys })));
    expect(await refused([{ table: 'public.accounts', key: ['plan'] }])).toMatchObject({
      type: 'InvalidInput',
      message: expect.stringMatching(/\(plan\) is not a primary key or unique index of public\.accounts/) as string,
    });
    expect(await refused([{ table: 'nosuch', key: ['id'] }])).toMatchObject({
      type: 'InvalidInput',
      message: expect.stringMatching(/no table public\.nosuch/) as string,
    });
  });

  it('merges text keys in the order Postgres sorts them (code points), also where UTF-16 order differs', async () => {
    const fork = await forkedWords(h);
    const [words] = (await h.run(h.activities.diffSinceFork, diffInput(fork))).tables;
    expect(words).toMatchObject({ table: 'public.words', inserts: 3, updates: 2, deletes: 2 });
    expect(words!.sampleKeys).toEqual(['{"w": "B"}', '{"w": "C"}', '{"w": "a"}', '{"w": "\uff61"}', '{"w": "\uff62"}']);
  });
});
