/**
 * What becomes of each table prod wrote to since the fork: carried when named (unless the policy only counts),
 * discarded when named for that, and otherwise the reason the promotion stops.
 */
import type { DiffSinceForkResult } from '../../../src/activities';
import { promoteInput } from '../../../src/workflows/contract/inputs';
import { sinceForkReport, unhandledWrites } from '../../../src/workflows/promote/fork-writes';

const fork = { snapshotId: 'snap-1', name: 'np-fork-setup-1', createdAt: '2026-12-01T00:00:00Z' };
const change = (table: string, inserts: number) => ({
  table,
  key: ['id'],
  exact: true,
  inserts,
  updates: 0,
  deletes: 0,
  sampleKeys: [],
});
const diff: DiffSinceForkResult = {
  tables: [change('public.orders', 3), change('public.submissions', 40), change('crm.leads', 1)],
  tablesAdded: ['public.audit'],
  tablesDropped: [],
  rowsChanged: 44,
  tablesCompared: 5,
};
const options = (input: object) => promoteInput().parse({ projectId: 'p-1', ...input });
const handling = (input: object) =>
  Object.fromEntries(sinceForkReport(options(input), fork, diff).tables.map((t) => [t.table, t.handling]));

test('a named table is carried, a discarded one let go, any other stops the run naming it and its counts', () => {
  const input = {
    reconcile: { tables: [{ table: 'Submissions', key: ['id'] }] },
    discardProdWrites: ['crm.leads'],
  };
  expect(handling(input)).toEqual({
    'public.orders': 'unhandled',
    'public.submissions': 'carry',
    'crm.leads': 'discard',
  });
  const stop = unhandledWrites(sinceForkReport(options(input), fork, diff));
  expect(stop).toContain('public.orders (3 inserted, 0 updated, 0 deleted)');
  expect(stop).toContain('public.audit (created on prod)');
  expect(stop).not.toContain('submissions');
  expect(stop).not.toContain('leads');
});

test("'*' lets every table go, a table prod created included; under ignore a named table is only counted", () => {
  const all = sinceForkReport(options({ discardProdWrites: ['*'] }), fork, diff);
  expect(unhandledWrites(all)).toBeNull();
  expect(all.tablesAdded).toEqual([{ table: 'public.audit', handling: 'discard' }]);
  const ignored = handling({ writePolicy: 'ignore', reconcile: { tables: [{ table: 'orders', key: ['id'] }] } });
  expect(ignored['public.orders']).toBe('unhandled');
});

test('a table prod created cannot be carried, even when named', () => {
  const named = sinceForkReport(
    options({
      reconcile: { tables: [{ table: 'audit', key: ['id'] }] },
      discardProdWrites: ['orders', 'submissions', 'crm.leads'],
    }),
    fork,
    diff,
  );
  expect(named.tablesAdded).toEqual([{ table: 'public.audit', handling: 'unhandled' }]);
  expect(unhandledWrites(named)).toMatch(/public\.audit \(created on prod\)/);
});
