/**
 * Prod's own writes since dev was forked (setup, a refresh or a promotion), against the real stack: carried into the
 * new prod as a three-way merge with the fork point as the base, discarded on purpose, or the promotion stops before
 * the swap, prod untouched. Dev edits the same table and others meanwhile.
 */
import type { PromoteInput } from '../../../src/workflows';
import type { SeededProject } from '../../../tools/emulator';
import { api, branchId, uriOf } from '../../support/emulator-api';
import { sql } from '../../support/postgres';
import { seedProd, type Stack, startStack } from '../../support/workflow-stack';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename);
});
afterAll(async () => s?.stop());

/**
 * Prod with `submissions` (ten rows) and `pages`, set up; then prod takes 40 sign-ups, updates rows 2 and 3, deletes
 * row 4; dev edits pages, adds a column to submissions and a table, and edits rows 3 (which prod changed too) and 5.
 */
async function divergedProject(): Promise<{ p: SeededProject; dev: string }> {
  const p = await seedProd(s.emu, 3);
  await sql(
    p.connectionUri,
    `CREATE TABLE submissions (id serial PRIMARY KEY, email text NOT NULL, status text NOT NULL DEFAULT 'new');
     INSERT INTO submissions (email) SELECT 'seed' || g || '@example.com' FROM generate_series(1, 10) g;
     CREATE TABLE pages (id int PRIMARY KEY, title text NOT NULL);
     INSERT INTO pages VALUES (1, 'Home'), (2, 'About')`,
  );
  await (await s.client.startSetup({ projectId: p.projectId })).result();
  await sql(
    p.connectionUri,
    `INSERT INTO submissions (email) SELECT 'signup' || g || '@example.com' FROM generate_series(1, 40) g;
     UPDATE submissions SET status = 'replied' WHERE id IN (2, 3);
     DELETE FROM submissions WHERE id = 4`,
  );
  const dev = await uriOf(s.emu, p, 'dev');
  await sql(
    dev,
    `UPDATE pages SET title = 'Welcome' WHERE id = 1;
     ALTER TABLE submissions ADD COLUMN score int NOT NULL DEFAULT 7;
     CREATE TABLE newsletter (id int PRIMARY KEY, title text NOT NULL);
     INSERT INTO newsletter VALUES (1, 'Launch');
     UPDATE submissions SET status = 'spam' WHERE id IN (3, 5)`,
  );
  return { p, dev };
}

const promote = async (input: Omit<PromoteInput, 'projectId'>, p: SeededProject) =>
  (await s.client.startPromotion({ projectId: p.projectId, ...input })).result();

/** Every row (and column: dev adds `score`) of submissions. */
const submissions = (uri: string) =>
  sql<{ id: number; email: string; status: string; score?: number }>(uri, 'SELECT * FROM submissions ORDER BY id');

test('named tables are carried: every prod write since the fork is in the new prod, dev edits stay live', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const { p } = await divergedProject();
    const result = await promote(
      { writePolicy: 'fence', reconcile: { tables: [{ table: 'submissions', key: ['id'] }], onConflict: 'keep_prod' } },
      p,
    );
    expect(result.outcome).toBe('promoted');
    const since = result.writes!.sinceFork!;
    expect(since.forkPoint).not.toBeNull();
    expect(since.tables).toEqual([
      expect.objectContaining({ table: 'public.submissions', inserts: 40, updates: 2, deletes: 1, handling: 'carry' }),
    ]);
    const carried = result.writes!.reconciled!.tables[0]!;
    expect(carried).toMatchObject({ inserted: 40, deleted: 1, conflicts: 1 });

    const rows = await submissions(p.connectionUri);
    expect(rows.filter((row) => row.email.startsWith('signup'))).toHaveLength(40);
    expect(rows.every((row) => row.score === 7)).toBe(true); // dev's new column: prod's rows take its default
    const byId = new Map(rows.map((row) => [row.id, row]));
    expect(byId.get(2)!.status).toBe('replied'); // prod only
    expect(byId.get(3)!.status).toBe('replied'); // both: keep_prod
    expect(byId.get(4)).toBeUndefined(); // deleted on prod
    expect(byId.get(5)!.status).toBe('spam'); // dev only
    expect(await sql(p.connectionUri, 'SELECT title FROM pages WHERE id = 1')).toEqual([{ title: 'Welcome' }]);
    expect(await sql(p.connectionUri, 'SELECT title FROM newsletter')).toEqual([{ title: 'Launch' }]); // dev's new table
    // The application's next insert gets a fresh id, past the carried ones.
    const [next] = await sql<{ id: number }>(
      p.connectionUri,
      "INSERT INTO submissions (email) VALUES ('after@example.com') RETURNING id",
    );
    expect(next!.id).toBeGreaterThan(50);

    // The candidate is the new fork point: a second promotion counts only what prod took since the first.
    expect(result.forkPoint!.snapshotId).not.toBe(since.forkPoint!.snapshotId);
    const again = await promote(
      { reconcile: { tables: [{ table: 'submissions', key: ['id'] }], onConflict: 'fail' } },
      p,
    );
    expect(again.outcome).toBe('promoted');
    expect(again.writes!.sinceFork!.forkPoint!.snapshotId).toBe(result.forkPoint!.snapshotId);
    // What prod holds that dev never had (the 40 carried, the new one, prod's updates and delete) is carried again.
    const rowsAfter = await submissions(p.connectionUri);
    expect(rowsAfter.filter((row) => row.email.startsWith('signup'))).toHaveLength(40);
    expect(rowsAfter.some((row) => row.email === 'after@example.com')).toBe(true);
  });
}, 240_000);

test('writes to a table the run did not name stop it before the swap; an explicit discard lets them go', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const { p } = await divergedProject();
    const prodBefore = await branchId(s.emu, p.projectId, 'prod');

    const dry = await promote({ dryRun: true }, p);
    expect(dry.outcome).toBe('dry_run');
    expect(dry.reason).toMatch(/would stop.*public\.submissions \(40 inserted, 2 updated, 1 deleted\)/);

    const stopped = await promote({}, p);
    expect(stopped.outcome).toBe('aborted');
    expect(stopped.reason).toMatch(/public\.submissions \(40 inserted, 2 updated, 1 deleted\).*prod untouched/);
    expect(stopped.writes!.sinceFork!.tables[0]).toMatchObject({ table: 'public.submissions', handling: 'unhandled' });
    expect(stopped.rollbackSnapshotId).toBeNull();
    expect(await branchId(s.emu, p.projectId, 'prod')).toBe(prodBefore);
    expect((await submissions(p.connectionUri)).filter((row) => row.email.startsWith('signup'))).toHaveLength(40);

    const discarded = await promote({ discardProdWrites: ['submissions'] }, p);
    expect(discarded.outcome).toBe('promoted');
    expect(discarded.writes!.sinceFork!.tables[0]).toMatchObject({ table: 'public.submissions', handling: 'discard' });
    expect((await submissions(p.connectionUri)).filter((row) => row.email.startsWith('signup'))).toHaveLength(0);
  });
}, 240_000);

test('a column dev dropped that holds prod data stops the carry before the swap, naming the column', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const { p, dev } = await divergedProject();
    await sql(dev, 'ALTER TABLE submissions DROP COLUMN status');
    const prodBefore = await branchId(s.emu, p.projectId, 'prod');
    const result = await promote(
      { reconcile: { tables: [{ table: 'submissions', key: ['id'] }], onConflict: 'fail' } },
      p,
    );
    expect(result.outcome).toBe('aborted');
    expect(result.reason).toMatch(/submissions\.status/);
    expect(result.reason).toMatch(/prod untouched/);
    expect(await branchId(s.emu, p.projectId, 'prod')).toBe(prodBefore);
  });
}, 240_000);

test('without a fork point the promotion stops, unless every write is let go on purpose', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const { p } = await divergedProject();
    const { snapshots } = (await api(s.emu, 'GET', `/projects/${p.projectId}/snapshots`)) as {
      snapshots: { id: string; name: string }[];
    };
    const forks = snapshots.filter((snapshot) => snapshot.name.startsWith('np-fork-'));
    expect(forks).toHaveLength(1);
    await api(s.emu, 'DELETE', `/projects/${p.projectId}/snapshots/${forks[0]!.id}`);

    const stopped = await promote({}, p);
    expect(stopped.outcome).toBe('aborted');
    expect(stopped.reason).toMatch(/no fork point is known/);
    const accepted = await promote({ discardProdWrites: ['*'] }, p);
    expect(accepted.outcome).toBe('promoted');
    expect(accepted.writes!.sinceFork!.forkPoint).toBeNull();
    expect(accepted.writes!.sinceFork!.note).toMatch(/on purpose/);
    expect(accepted.forkPoint).not.toBeNull(); // the promoted candidate is the fork point from now on
  });
}, 240_000);

test('a rollback forgets the fork point: prod no longer descends from the state dev was forked from', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const p = await seedProd(s.emu, 3);
    await (await s.client.startSetup({ projectId: p.projectId })).result();
    await sql(await uriOf(s.emu, p, 'dev'), `UPDATE items SET source = 'dev'`);
    expect((await promote({}, p)).outcome).toBe('promoted');
    const rolled = await (await s.client.startRollback({ projectId: p.projectId })).result();
    expect(rolled.forgottenForkPoints).toHaveLength(1);
    // Without it, prod's pre-promotion rows would read as prod's writes, and dev's promoted edit as theirs to undo.
    const next = await promote({}, p);
    expect(next.outcome).toBe('aborted');
    expect(next.reason).toMatch(/no fork point is known/);
  });
}, 240_000);
