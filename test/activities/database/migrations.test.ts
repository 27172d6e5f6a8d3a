import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checksumOf, FOLDER_LIMITS, ledgerDdl } from '../../../src/activities/database/migrations-ledger';
import { failureOf, type Harness, startHarness } from '../../support/activity-harness';
import { type Prod, seedProd } from '../../support/activity-prod';
import { sql } from '../../support/postgres';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ mode: 'data' });
}, 120_000);
afterAll(() => h?.stop());

/** Runs a migration on dev and records it in dev's ledger, as the app's migration runner would. */
async function migrate(uri: string, id: string, migration: string): Promise<void> {
  await sql(uri, ledgerDdl());
  await sql(uri, migration);
  await sql(uri, 'INSERT INTO neon_promote_migrations (id, checksum, sql) VALUES ($1, $2, $3)', [
    id,
    checksumOf(migration),
    migration,
  ]);
}

const M1 = 'CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)';
const M2 = 'ALTER TABLE items ADD COLUMN priority int NOT NULL DEFAULT 0';
const M3 = "CREATE INDEX items_priority ON items (priority); INSERT INTO notes (body) VALUES ('seeded by 003')";

/** Prod and dev share 001 (prod was forked from dev's ledger); dev then ran 002 and 003; prod kept taking writes. */
async function setup(): Promise<{ prod: Prod; devId: string; devUri: string }> {
  const prod = await seedProd(h, 5);
  await migrate(prod.connectionUri, '001_notes', M1);
  const dev = await prod.branch('dev', prod.branchId);
  const devUri = await prod.uriOf(dev.id);
  await migrate(devUri, '002_priority', M2);
  await migrate(devUri, '003_index', M3);
  await sql(prod.connectionUri, "INSERT INTO items (label, source) VALUES ('customer row', 'prod')");
  return { prod, devId: dev.id, devUri };
}

const input = (prod: Prod, devId: string) => ({
  ...prod.where,
  source: { kind: 'ledger' as const, branchId: devId },
  prodBranchId: prod.branchId,
});

describe('promotion by migrations', () => {
  it('plans exactly the pending migrations, applies them in order, keeps prod rows, then has nothing to do', async () => {
    const { prod, devId } = await setup();
    const plan = await h.run(h.activities.planMigrations, input(prod, devId));
    expect(plan).toEqual({
      pending: [
        { id: '002_priority', checksum: checksumOf(M2) },
        { id: '003_index', checksum: checksumOf(M3) },
      ],
      upToDate: false,
      sourcePosition: '003_index',
      prodPosition: '001_notes',
      prodLedgerExists: true,
    });
    for (const m of plan.pending)
      expect(await h.run(h.activities.applyMigration, { ...input(prod, devId), migration: m })).toMatchObject({
        id: m.id,
        applied: true,
      });
    const rows = await sql(prod.connectionUri, "SELECT label, priority FROM items WHERE source = 'prod'");
    expect(rows).toEqual([{ label: 'customer row', priority: 0 }]);
    expect(await sql(prod.connectionUri, 'SELECT body FROM notes')).toEqual([{ body: 'seeded by 003' }]);
    const ledger = await sql<{ id: string }>(
      prod.connectionUri,
      'SELECT id FROM neon_promote_migrations ORDER BY applied_at',
    );
    expect(ledger.map((r) => r.id)).toEqual(['001_notes', '002_priority', '003_index']);

    expect(await h.run(h.activities.planMigrations, input(prod, devId))).toMatchObject({
      pending: [],
      upToDate: true,
      prodPosition: '003_index',
    });
    // A retry of an applied migration (its response lost) runs nothing: the index would otherwise fail to be created twice.
    expect(
      await h.run(h.activities.applyMigration, { ...input(prod, devId), migration: plan.pending[1]! }, 2),
    ).toMatchObject({
      applied: false,
    });
  });

  it('a migration failing halfway leaves prod and its ledger as they were', async () => {
    const { prod, devId, devUri } = await setup();
    const bad = 'CREATE TABLE half (x int); SELECT 1 / 0';
    await sql(devUri, 'INSERT INTO neon_promote_migrations (id, checksum, sql) VALUES ($1, $2, $3)', [
      '004_bad',
      checksumOf(bad),
      bad,
    ]);
    const plan = await h.run(h.activities.planMigrations, input(prod, devId));
    expect(plan.pending.map((m) => m.id)).toEqual(['002_priority', '003_index', '004_bad']);
    await h.run(h.activities.applyMigration, { ...input(prod, devId), migration: plan.pending[0]! });
    await h.run(h.activities.applyMigration, { ...input(prod, devId), migration: plan.pending[1]! });
    const f = await failureOf(
      h.run(h.activities.applyMigration, { ...input(prod, devId), migration: plan.pending[2]! }),
    );
    expect(f).toMatchObject({
      type: 'MigrationFailed',
      nonRetryable: true,
      details: [{ migrationId: '004_bad', code: '22012' }],
    });
    expect(await sql(prod.connectionUri, "SELECT to_regclass('half') AS t")).toEqual([{ t: null }]);
    expect(await h.run(h.activities.planMigrations, input(prod, devId))).toMatchObject({
      pending: [{ id: '004_bad' }],
      prodPosition: '003_index',
    });
  });

  it('refuses a migration that ends its own transaction, and ledgers that diverged', async () => {
    const { prod, devId, devUri } = await setup();
    const sneaky = 'CREATE TABLE t5 (x int); COMMIT; CREATE TABLE t6 (x int)';
    const plan = await h.run(h.activities.planMigrations, input(prod, devId));
    for (const m of plan.pending) await h.run(h.activities.applyMigration, { ...input(prod, devId), migration: m });
    await sql(devUri, 'INSERT INTO neon_promote_migrations (id, checksum, sql) VALUES ($1, $2, $3)', [
      '005_sneaky',
      checksumOf(sneaky),
      sneaky,
    ]);
    const f = await failureOf(
      h.run(h.activities.applyMigration, {
        ...input(prod, devId),
        migration: { id: '005_sneaky', checksum: checksumOf(sneaky) },
      }),
    );
    expect(f.type).toBe('MigrationFailed');
    expect(f.message).toMatch(/ended the transaction/);

    // Prod has a migration dev never had.
    await sql(
      prod.connectionUri,
      "INSERT INTO neon_promote_migrations (id, checksum, sql) VALUES ('900_hotfix', 'x', '')",
    );
    expect(await failureOf(h.run(h.activities.planMigrations, input(prod, devId)))).toMatchObject({
      type: 'LedgerDiverged',
      details: [{ migrationId: '900_hotfix' }],
    });
    await sql(prod.connectionUri, "DELETE FROM neon_promote_migrations WHERE id = '900_hotfix'");
    // The same migration, edited on dev after prod applied it.
    await sql(devUri, "UPDATE neon_promote_migrations SET checksum = 'edited' WHERE id = '002_priority'");
    expect(await failureOf(h.run(h.activities.planMigrations, input(prod, devId)))).toMatchObject({
      type: 'LedgerDiverged',
      details: [{ migrationId: '002_priority' }],
    });
  });

  it('reads a folder of SQL files on the worker, and creates prod ledger on the first apply', async () => {
    const prod = await seedProd(h, 2);
    const dir = mkdtempSync(path.join(tmpdir(), 'np-migrations-'));
    try {
      writeFileSync(path.join(dir, '001_a.sql'), 'CREATE TABLE a (id int PRIMARY KEY)');
      writeFileSync(path.join(dir, '002_b.sql'), 'ALTER TABLE items ADD COLUMN b text');
      writeFileSync(path.join(dir, 'README.md'), 'not a migration');
      const where = { ...prod.where, source: { kind: 'folder' as const, path: dir }, prodBranchId: prod.branchId };
      const plan = await h.run(h.activities.planMigrations, where);
      expect(plan).toMatchObject({ prodLedgerExists: false, prodPosition: null, sourcePosition: '002_b' });
      expect(plan.pending.map((m) => m.id)).toEqual(['001_a', '002_b']);
      for (const m of plan.pending) await h.run(h.activities.applyMigration, { ...where, migration: m });
      expect(await h.run(h.activities.planMigrations, where)).toMatchObject({ upToDate: true, prodLedgerExists: true });
      expect(await sql(prod.connectionUri, 'SELECT count(*)::int AS n FROM items WHERE b IS NULL')).toEqual([{ n: 2 }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a ledger table name that is not a plain identifier', async () => {
    const prod = await seedProd(h, 1);
    const where = {
      ...prod.where,
      source: { kind: 'folder' as const, path: '/nonexistent' },
      prodBranchId: prod.branchId,
    };
    expect(
      await failureOf(h.run(h.activities.planMigrations, { ...where, ledgerTable: 'x; DROP TABLE items' })),
    ).toMatchObject({ type: 'InvalidInput', details: [{ field: 'ledgerTable' }] });
  });

  describe('a folder source', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'np-migrations-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));
    /** planMigrations of a folder: the folder is read before any call to Neon or prod. */
    const planFolder = (folder: string) =>
      failureOf(
        h.run(h.activities.planMigrations, {
          projectId: 'p-folder',
          databaseName: 'neondb',
          roleName: 'neondb_owner',
          source: { kind: 'folder' as const, path: folder },
          prodBranchId: 'br-folder',
        }),
      );

    it('refuses a missing path, a file, and a folder whose .sql is no file with one answer naming only the path', async () => {
      writeFileSync(path.join(dir, 'file.txt'), 'x');
      mkdirSync(path.join(dir, 'folder'));
      mkdirSync(path.join(dir, 'folder', '001_dir.sql'));
      const given = [path.join(dir, 'missing'), path.join(dir, 'file.txt'), path.join(dir, 'folder')];
      const failures = await Promise.all(given.map(planFolder));
      for (const [i, f] of failures.entries()) {
        expect(f).toMatchObject({ type: 'InvalidInput', details: [{ field: 'source.path' }] });
        expect(f.message.replace(given[i]!, '<path>')).toBe(
          'migrations folder "<path>": not a readable folder of .sql files on the worker',
        );
      }
    });

    it(`refuses more than ${FOLDER_LIMITS.files} files, or a file over ${FOLDER_LIMITS.fileBytes} bytes`, async () => {
      for (let i = 0; i <= FOLDER_LIMITS.files; i++)
        writeFileSync(path.join(dir, `${String(i).padStart(4, '0')}.sql`), 'SELECT 1');
      expect((await planFolder(dir)).message).toContain(
        `${FOLDER_LIMITS.files + 1} .sql files, more than the ${FOLDER_LIMITS.files}`,
      );
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir);
      writeFileSync(path.join(dir, '001_big.sql'), `SELECT '${'x'.repeat(FOLDER_LIMITS.fileBytes)}'`);
      expect(await planFolder(dir)).toMatchObject({
        type: 'InvalidInput',
        message: expect.stringContaining(`001_big.sql is larger than ${FOLDER_LIMITS.fileBytes} bytes`) as string,
      });
    });
  });
});
