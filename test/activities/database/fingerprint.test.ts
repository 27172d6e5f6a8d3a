import { Client } from 'pg';
import { seedProject } from '../../../tools/emulator';
import { type Harness, startHarness } from '../../support/activity-harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ mode: 'data', operationDelayMs: 30 });
}, 120_000);
afterAll(() => h?.stop());

async function exec(uri: string, sql: string): Promise<void> {
  const c = new Client({ connectionString: uri });
  await c.connect();
  await c.query(sql).finally(() => c.end());
}

test('fingerprintBranch: equal data gives equal hashes; a change names its table; no secret in the result', async () => {
  const p = await seedProject(h.emu, { rows: 3 });
  await exec(p.connectionUri, 'CREATE TABLE other (id int PRIMARY KEY, v text); INSERT INTO other VALUES (1, $$a$$)');
  const where = { projectId: p.projectId, databaseName: p.databaseName, roleName: p.roleName };
  const first = await h.run(h.activities.fingerprintBranch, { ...where, branchId: p.branchId });
  expect(first.tables.map((t) => [t.table, t.rows])).toEqual([
    ['public.items', 3],
    ['public.other', 1],
  ]);

  const child = await h.run(h.activities.createBranch, {
    ...where,
    name: 'np-fp-child',
    parentId: p.branchId,
    endpointType: 'read_write',
  });
  await h.run(h.activities.waitForOperations, { projectId: p.projectId, operationIds: child.operationIds });
  const copy = await h.run(h.activities.fingerprintBranch, { ...where, branchId: child.branch.id });
  expect(copy.hash).toBe(first.hash);
  expect(copy.tables).toEqual(first.tables);

  // Same rows in another physical order: same hash. One changed value: only that table differs.
  await exec(p.connectionUri, `UPDATE other SET v = 'b'; UPDATE other SET v = 'a'`);
  expect((await h.run(h.activities.fingerprintBranch, { ...where, branchId: p.branchId })).hash).toBe(first.hash);
  await exec(p.connectionUri, `UPDATE items SET label = label || '!' WHERE id = (SELECT min(id) FROM items)`);
  const changed = await h.run(h.activities.fingerprintBranch, { ...where, branchId: p.branchId });
  expect(changed.hash).not.toBe(first.hash);
  expect(changed.tables.filter((t, i) => t.hash !== first.tables[i]!.hash).map((t) => t.table)).toEqual([
    'public.items',
  ]);
  const password = new URL(p.connectionUri).password;
  expect(JSON.stringify(changed)).not.toContain(password);
  // Schemas outside the list are not read.
  const none = await h.run(h.activities.fingerprintBranch, { ...where, branchId: p.branchId, schemas: ['nothing'] });
  expect(none.tables).toEqual([]);
});

test('fingerprintBranch refuses a schema name that is not a plain identifier', async () => {
  await expect(
    h.run(h.activities.fingerprintBranch, {
      projectId: 'p-1',
      branchId: 'br-1',
      databaseName: 'db',
      roleName: 'r',
      schemas: ['public; DROP TABLE x'],
    }),
  ).rejects.toMatchObject({ type: 'InvalidInput', nonRetryable: true });
});
