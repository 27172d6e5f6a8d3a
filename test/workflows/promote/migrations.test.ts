/**
 * Promotion by migrations. Prod keeps its data and its branch; only the migrations of dev's ledger
 * it lacks are applied; nothing pending is a no-op; a migration failing halfway puts prod back to the anchor.
 */
import { checksumOf, ledgerDdl } from '../../../src/activities/database/migrations-ledger';
import { branchId, inventory, uriOf } from '../../support/emulator-api';
import { sql } from '../../support/postgres';
import { seedProd, type Stack, startStack } from '../../support/workflow-stack';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename);
});
afterAll(async () => s?.stop());

/** Runs a migration and records it in the ledger, as an application's migration runner would. */
async function migrate(uri: string, id: string, text: string): Promise<void> {
  await sql(uri, ledgerDdl());
  await sql(uri, text);
  await sql(
    uri,
    `INSERT INTO neon_promote_migrations (id, checksum, sql) VALUES ('${id}', '${checksumOf(text)}', $q$${text}$q$)`,
  );
}

const ledgerOf = async (uri: string) =>
  (await sql<{ id: string }>(uri, 'SELECT id FROM neon_promote_migrations ORDER BY id')).map((r) => r.id);
const labels = async (uri: string) =>
  (await sql<{ label: string }>(uri, 'SELECT label FROM items ORDER BY id')).map((r) => r.label);

test('applies exactly the pending migrations and keeps prod; then nothing is pending; a failure restores the anchor', async () => {
  const p = await seedProd(s.emu, 3);
  await migrate(p.connectionUri, '001_notes', 'CREATE TABLE notes (id serial PRIMARY KEY, body text)');
  const worker = await s.worker();
  await worker.runUntil(async () => {
    await (await s.client.startSetup({ projectId: p.projectId })).result();
    const devUri = await uriOf(s.emu, p, 'dev');
    await migrate(devUri, '002_priority', 'ALTER TABLE items ADD COLUMN priority int NOT NULL DEFAULT 0');
    await migrate(devUri, '003_index', 'CREATE INDEX items_priority ON items (priority)');
    await sql(p.connectionUri, `INSERT INTO items (label, source) VALUES ('customer row', 'prod')`);
    const before = await labels(p.connectionUri);
    const promote = (dryRun = false) =>
      s.client.promote({ projectId: p.projectId, strategy: 'migrations', dryRun, checks: [] });

    const dry = await promote(true);
    expect(dry.outcome).toBe('dry_run');
    expect(dry.migrations!.plan.pending.map((m) => m.id)).toEqual(['002_priority', '003_index']);

    const done = await promote();
    expect(done.outcome).toBe('promoted');
    expect(done.migrations!.applied.map((m) => [m.id, m.applied])).toEqual([
      ['002_priority', true],
      ['003_index', true],
    ]);
    expect(await ledgerOf(p.connectionUri)).toEqual(['001_notes', '002_priority', '003_index']);
    expect(await labels(p.connectionUri)).toEqual(before); // prod's rows, the customer's included
    expect(await branchId(s.emu, p.projectId, 'prod')).toBe(p.branchId); // no swap
    expect(done.rollbackSnapshotId).not.toBeNull();

    const snapshots = (await inventory(s.emu, p.projectId)).snapshots.length;
    const again = await promote();
    expect(again.outcome).toBe('noop');
    expect((await inventory(s.emu, p.projectId)).snapshots.length).toBe(snapshots); // no anchor taken

    // 004 works anywhere; 005 fails on prod only (prod has a row dev does not), halfway through the promotion.
    await migrate(devUri, '004_tags', 'CREATE TABLE tags (id int)');
    await sql(devUri, `DELETE FROM items WHERE source <> 'prod'`);
    await migrate(devUri, '005_only_prod', `ALTER TABLE items ADD CONSTRAINT only_prod CHECK (source = 'prod')`);
    await sql(p.connectionUri, `INSERT INTO items (label, source) VALUES ('late row', 'web')`);
    const failed = await promote();
    expect(failed.outcome).toBe('rolled_back');
    expect(failed.migrations!.applied.map((m) => m.id)).toEqual(['004_tags']);
    expect(failed.migrations!.failed!.id).toBe('005_only_prod');
    expect(failed.reason).toMatch(/anchor/);
    expect(await ledgerOf(p.connectionUri)).toEqual(['001_notes', '002_priority', '003_index']);
    expect(await sql(p.connectionUri, `SELECT to_regclass('tags') AS t`)).toEqual([{ t: null }]);
    expect(await labels(p.connectionUri)).toEqual([...before, 'late row']);
  });
}, 180_000);

test('postSwapChecks verify prod after the migrations even without checks: a failing one restores the anchor', async () => {
  const p = await seedProd(s.emu, 3);
  const worker = await s.worker();
  await worker.runUntil(async () => {
    await (await s.client.startSetup({ projectId: p.projectId })).result();
    const devUri = await uriOf(s.emu, p, 'dev');
    // A migration that breaks the application: the labels it reads are gone. (A check naming a column the migrations
    // drop is refused by the plan: it is planned on dev's schema.)
    await migrate(devUri, '001_clear_labels', "UPDATE items SET label = ''");
    const before = await labels(p.connectionUri);
    const result = await s.client.promote({
      projectId: p.projectId,
      strategy: 'migrations',
      postSwapChecks: [
        {
          kind: 'sql',
          name: 'app reads labels',
          sql: "SELECT label FROM items WHERE label <> ''",
          expect: { rowCount: 3 },
        },
      ],
    });
    expect(result.outcome).toBe('rolled_back');
    expect(result.reason).toContain('app reads labels');
    expect(result.migrations!.applied.map((m) => m.id)).toEqual(['001_clear_labels']);
    expect(result.verification.prod?.failedCheck).toBe('app reads labels');
    expect(await labels(p.connectionUri)).toEqual(before);
  });
}, 180_000);
