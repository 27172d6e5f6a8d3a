/**
 * A writer process inserts into prod every few milliseconds from after setup until after the promotion, and each write
 * policy keeps its promise. The writer's table is carried (or, under `ignore`, which carries nothing, discarded on
 * purpose): otherwise prod's writes since the fork would stop the run first. Carried, "nothing lost" means every
 * acknowledged row is in the new prod, none only on the "(old)" backup.
 */
import { startWriter, type Writer } from '../../support/writer';
import type { PromoteInput } from '../../../src/workflows';
import { branchId, uriOf } from '../../support/emulator-api';
import { sql } from '../../support/postgres';
import { sourceOf, type Stack, startStack } from '../../support/workflow-stack';
import { missingFrom, neonTools, projectWithWrites } from '../../support/prod-writes';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename);
});
afterAll(async () => s?.stop());
const writers: Writer[] = [];
afterEach(async () => void (await Promise.all(writers.splice(0).map((w) => w.stop()))));

const TABLES = { tables: [{ table: 'writes', key: ['id'] }], onConflict: 'fail' as const };

/** Runs a promotion of dev (items marked 'dev') with a writer on prod from before it starts until after it ended. */
async function promoteWhileWriting(extra: Partial<PromoteInput>) {
  const p = await projectWithWrites(s);
  await sql(await uriOf(s.emu, p, 'dev'), `UPDATE items SET source = 'dev'`);
  const writer = startWriter({ connectionString: p.connectionUri, intervalMs: 3 });
  writers.push(writer);
  await writer.waitForCommits(20);
  const worker = await s.worker();
  const result = await worker.runUntil(async () => {
    const run = await s.client.startPromotion({ projectId: p.projectId, ...extra });
    return run.result();
  });
  await writer.waitForCommits(20);
  const report = await writer.stop();
  return { p, result, report, tools: neonTools(s, p) };
}

/** Prod's writes since the fork as counted before the promotion: the writer's inserts, handled as asked. */
const writerSinceFork = (handling: 'carry' | 'discard') => ({
  tables: [expect.objectContaining({ table: 'public.writes', updates: 0, deletes: 0, handling })],
  tablesAdded: [],
  tablesDropped: [],
});

test('fence: prod refuses writes from before the rollback snapshot until the swap; nothing acknowledged is lost', async () => {
  const { p, result, report, tools } = await promoteWhileWriting({ writePolicy: 'fence', reconcile: TABLES });
  expect(result.outcome).toBe('promoted');
  expect(result.writes).toMatchObject({ policy: 'fence', detected: false, exact: true });
  expect(result.writes!.sinceFork).toMatchObject(writerSinceFork('carry'));
  const fence = result.writes!.fence!;
  expect(fence.fencedForMs).toBeGreaterThan(0);
  // Measured: database clock from the fence's ALTER DATABASE to its lift (an upper bound by the lift itself).
  console.log(`fence up for ${fence.fencedForMs} ms; writer refused: ${JSON.stringify(report.errors)}`);
  expect((report.errors['25006'] ?? 0) + (report.errors['57P01'] ?? 0)).toBeGreaterThan(0);
  const atSnapshot = await tools.idsInSnapshot(result.rollbackSnapshotId!, result.prodBranchId.before);
  const onBackup = await tools.idsOnBranch(result.prodBranchId.before);
  expect([...onBackup].filter((id) => !atSnapshot.has(id))).toEqual([]); // nothing accepted after the snapshot
  // Every row prod took before the fence was carried from the backup (the fork point's table was empty).
  expect(result.writes!.reconciled!.tables[0]).toMatchObject({ inserted: onBackup.size, conflicts: 0 });
  const newProd = await tools.idsOnBranch(result.prodBranchId.after);
  expect(missingFrom(report.committed, newProd)).toEqual([]);
  expect(await sourceOf(p.connectionUri)).toEqual(['dev']);
}, 120_000);

test('reconcile: writes since the fork, late ones too, are copied from the backup into the new prod; nothing acknowledged is lost', async () => {
  const { result, report, tools } = await promoteWhileWriting({ writePolicy: 'reconcile', reconcile: TABLES });
  expect(result.outcome).toBe('promoted');
  expect(result.writes).toMatchObject({ policy: 'reconcile', detected: true, untrackedTables: [] });
  expect(result.writes!.sinceFork).toMatchObject(writerSinceFork('carry'));
  const copied = result.writes!.reconciled!.tables[0]!;
  const atSnapshot = await tools.idsInSnapshot(result.rollbackSnapshotId!, result.prodBranchId.before);
  const onBackup = await tools.idsOnBranch(result.prodBranchId.before);
  const newProd = await tools.idsOnBranch(result.prodBranchId.after);
  const late = [...onBackup].filter((id) => !atSnapshot.has(id));
  expect(late.length).toBeGreaterThan(0);
  // The merge's base is the fork point (an empty table): every row on the backup was copied, the late ones with them.
  expect(copied).toMatchObject({ inserted: onBackup.size, conflicts: 0 });
  expect(missingFrom(report.committed, newProd)).toEqual([]);
}, 120_000);

test('abort: writes before the swap stop the promotion; prod is untouched and the result reports them', async () => {
  // Carried, the writes since the fork get the run past its first count; those after the rollback snapshot stop it.
  const { p, result, report, tools } = await promoteWhileWriting({ writePolicy: 'abort', reconcile: TABLES });
  expect(result.outcome).toBe('aborted');
  expect(result.reason).toMatch(/^prod received writes after the rollback snapshot.*prod untouched$/);
  expect(result.writes!.sinceFork).toMatchObject(writerSinceFork('carry'));
  expect(result.writes!.detected).toBe(true);
  expect(result.writes!.rowsChangedByTable['public.writes']!.inserts).toBeGreaterThan(0);
  expect(await branchId(s.emu, p.projectId, 'prod')).toBe(p.branchId);
  expect(await sourceOf(p.connectionUri)).toEqual(['prod']);
  const prodIds = await tools.idsOnBranch(p.branchId);
  expect(missingFrom(report.committed, prodIds)).toEqual([]);
}, 120_000);

test('ignore: the rows prod took that the new prod lacks, late ones included, are reported lost, with their count', async () => {
  // `ignore` carries nothing: the writer's table is let go on purpose, or its writes since the fork would stop the run.
  const { result, report, tools } = await promoteWhileWriting({
    writePolicy: 'ignore',
    reconcile: TABLES,
    discardProdWrites: ['writes'],
  });
  expect(result.outcome).toBe('promoted');
  expect(result.writes!.sinceFork).toMatchObject(writerSinceFork('discard'));
  const lost = result.writes!.lost!;
  const atSnapshot = await tools.idsInSnapshot(result.rollbackSnapshotId!, result.prodBranchId.before);
  const onBackup = await tools.idsOnBranch(result.prodBranchId.before);
  const newProd = await tools.idsOnBranch(result.prodBranchId.after);
  const late = [...onBackup].filter((id) => !atSnapshot.has(id));
  expect(late.length).toBeGreaterThan(0);
  // Counted against the fork point (an empty table): every row on the backup, those after the rollback snapshot too.
  expect(lost).toEqual({ rows: onBackup.size, byTable: { writes: onBackup.size }, how: 'exact' });
  // Every acknowledged row the promotion dropped is one of those counted (and is still on the backup).
  const dropped = missingFrom(report.committed, newProd);
  expect(dropped.length).toBeGreaterThan(0);
  expect(missingFrom(dropped, onBackup)).toEqual([]);
}, 120_000);
