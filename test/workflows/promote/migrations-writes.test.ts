/**
 * A migrations promotion that rolls back accounts for prod's writes since the anchor: the tables it names are carried
 * from the backup into the restored prod, the others are counted and stay on the backup, which then has no expiry; a
 * column a migration added that holds prod's writes is reported, the backup kept. The writes happen while the run
 * waits in a post-swap check that a test server holds, after the anchor and the migrations.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { PromoteInput, PromoteResult } from '../../../src/workflows';
import { resourceName } from '../../../src/workflows/contract/names';
import { api, inventory } from '../../support/emulator-api';
import { startHoldServer } from '../../support/hold-server';
import { sql } from '../../support/postgres';
import { neonTools, projectWithWrites } from '../../support/prod-writes';
import { type Stack, startStack } from '../../support/workflow-stack';
import type { SeededProject } from '../../../tools/emulator';

let s: Stack;
let hold: Awaited<ReturnType<typeof startHoldServer>>;
let folder: string;
beforeAll(async () => {
  [s, hold, folder] = await Promise.all([
    startStack(__filename),
    startHoldServer(),
    mkdtemp(path.join(tmpdir(), 'np-migrations-writes-')),
  ]);
});
afterAll(async () => {
  await hold?.stop();
  await s?.stop();
  if (folder) await rm(folder, { recursive: true, force: true });
});

/** A folder of migrations for one test: `<id>.sql` files, applied in name order. */
async function migrations(name: string, files: Record<string, string>): Promise<string> {
  const dir = path.join(folder, name);
  await mkdir(dir);
  for (const [id, text] of Object.entries(files)) await writeFile(path.join(dir, `${id}.sql`), text);
  return dir;
}

/**
 * Promotes by the migrations in `dir` with a post-swap check the hold server keeps waiting: `write` runs on prod
 * then (after the anchor and the migrations), and the check fails, so the run restores the anchor.
 */
async function rollBackAfter(
  p: SeededProject,
  dir: string,
  write: () => Promise<void>,
  extra: Partial<PromoteInput> = {},
): Promise<{ result: PromoteResult; workflowId: string }> {
  const worker = await s.worker();
  return worker.runUntil(async () => {
    const run = await s.client.startPromotion({
      projectId: p.projectId,
      strategy: 'migrations',
      migrations: { source: { kind: 'folder', path: dir } },
      postSwapChecks: [hold.check],
      reconcile: { tables: [{ table: 'items', key: ['id'] }], onConflict: 'fail' },
      ...extra,
    });
    await hold.reached();
    await write();
    hold.release(503);
    return { result: await run.result(), workflowId: run.workflowId };
  });
}

const labels = async (uri: string) =>
  (await sql<{ label: string }>(uri, 'SELECT label FROM items ORDER BY id')).map((row) => row.label);
const branch = async (p: SeededProject, id: string) =>
  (await api(s.emu, 'GET', `/projects/${p.projectId}/branches/${id}`)).branch as { expires_at?: string };

test('named tables are carried into the restored prod; the others stay on a backup kept without expiry', async () => {
  const p = await projectWithWrites(s);
  const dir = await migrations('carry', { '001_label_index': 'CREATE INDEX items_label ON items (label)' });
  const before = await labels(p.connectionUri);
  const { result, workflowId } = await rollBackAfter(p, dir, async () => {
    await sql(p.connectionUri, `INSERT INTO items (label, source) VALUES ('late 1', 'web'), ('late 2', 'web')`);
    await sql(p.connectionUri, `UPDATE items SET label = 'edited' WHERE id = 1`);
    await sql(p.connectionUri, `INSERT INTO writes (id, note) VALUES (1, 'a'), (2, 'b')`);
  });
  expect(result.outcome).toBe('rolled_back');
  const report = result.migrations!;
  expect(report.writesSinceAnchor).toMatchObject({
    forkPoint: { snapshotId: result.rollbackSnapshotId, name: resourceName('rollback', workflowId) },
    // The ledger the migration created holds the migrations' own records: not counted.
    tables: [
      { table: 'public.items', inserts: 2, updates: 1, deletes: 0, handling: 'carry' },
      { table: 'public.writes', inserts: 2, updates: 0, deletes: 0, handling: 'unhandled' },
    ],
    tablesAdded: [],
    tablesDropped: [],
    rowsChanged: 5,
  });
  expect(report.carried!.tables).toEqual([
    expect.objectContaining({ table: 'items', inserted: 2, updated: 1, deleted: 0, conflicts: 0 }),
  ]);
  expect(report.writesProblem).toBeNull();
  // Prod is the anchor again, with the named table's writes carried into it.
  expect(await labels(p.connectionUri)).toEqual(['edited', ...before.slice(1), 'late 1', 'late 2']);
  expect(await sql(p.connectionUri, 'SELECT id FROM writes')).toEqual([]);
  expect(await sql(p.connectionUri, `SELECT to_regclass('items_label') AS i`)).toEqual([{ i: null }]);
  // The unnamed table's writes: counted in the reason, and on the backup, which has no expiry.
  const backup = result.backupBranch!;
  expect(backup).toMatchObject({ id: report.restoredFrom!.backupBranchId, expiresAt: null });
  expect(backup.name).toBe(resourceName('old', workflowId));
  expect(result.reason).toContain('public.writes (2 inserted, 0 updated, 0 deleted)');
  expect(result.reason).toContain(`${backup.name} (${backup.id}), kept without expiry`);
  expect((await branch(p, backup.id)).expires_at).toBeUndefined();
  // The anchor's unfinalized restore and the backup's read-only endpoint are gone.
  const names = (await inventory(s.emu, p.projectId)).branches.map((b) => b.name);
  expect(names).not.toContain(resourceName('rollback-state', workflowId));
  expect((await api(s.emu, 'GET', `/projects/${p.projectId}/branches/${backup.id}/endpoints`)).endpoints).toEqual([]);
  expect([...(await neonTools(s, p).idsOnBranch(backup.id))].sort()).toEqual([1, 2]);

  // Writes to the named table only: all carried, so the backup expires as usual.
  const again = await rollBackAfter(p, dir, async () => {
    await sql(p.connectionUri, `INSERT INTO items (label, source) VALUES ('late 3', 'web')`);
  });
  expect(again.result.outcome).toBe('rolled_back');
  expect(again.result.migrations!.writesSinceAnchor!.tables).toEqual([
    expect.objectContaining({ table: 'public.items', inserts: 1, handling: 'carry' }),
  ]);
  expect(await labels(p.connectionUri)).toContain('late 3');
  expect(again.result.backupBranch!.expiresAt).not.toBeNull();
  expect((await branch(p, again.result.backupBranch!.id)).expires_at).toBeDefined();
  expect(again.result.reason).not.toContain('kept without expiry');
}, 240_000);

test("a column a migration added that holds prod's writes is reported, and the backup that holds them kept", async () => {
  const p = await projectWithWrites(s);
  const dir = await migrations('schema', {
    '001_priority': 'ALTER TABLE items ADD COLUMN priority int NOT NULL DEFAULT 0',
  });
  const before = await labels(p.connectionUri);
  const { result } = await rollBackAfter(p, dir, async () => {
    await sql(p.connectionUri, `INSERT INTO items (label, source, priority) VALUES ('late', 'web', 2)`);
  });
  expect(result.outcome).toBe('rolled_back');
  const report = result.migrations!;
  expect(report.carried).toBeNull();
  expect(report.writesProblem).toMatch(/column items\.priority, which the migrations added .*ReconcileSchemaConflict/);
  // The migration's default changed every row it found; the insert is prod's.
  expect(report.writesSinceAnchor!.tables).toEqual([
    expect.objectContaining({ table: 'public.items', inserts: 1, updates: before.length, handling: 'unhandled' }),
  ]);
  expect(report.writesSinceAnchor!.note).toMatch(/migrations' own changes/);
  expect(await labels(p.connectionUri)).toEqual(before);
  const backup = result.backupBranch!;
  expect(backup.expiresAt).toBeNull();
  expect((await branch(p, backup.id)).expires_at).toBeUndefined();
  expect(result.reason).toContain('items.priority');
  expect(result.reason).toContain(`public.items (1 inserted, ${before.length} updated, 0 deleted)`);
  expect(result.reason).toContain(`${backup.name} (${backup.id}), kept without expiry`);
}, 180_000);
