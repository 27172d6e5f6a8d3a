import { resourceName } from '../../src/workflows/contract/names';
import { maybeRecordHistory } from '../support/histories';
import { api, branchId, inventory, uriOf } from '../support/emulator-api';
import { sql } from '../support/postgres';
import { seedProd, sourceOf, type Stack, startStack } from '../support/workflow-stack';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename);
});
afterAll(async () => s?.stop());

const itemsCheck = { kind: 'tablesExist' as const, name: 'items table', tables: ['items'] };

test("setup -> preview -> change on dev -> promote -> refresh -> rollback, seen through prod's unchanged connection string", async () => {
  const p = await seedProd(s.emu, 5);
  const prodUri = p.connectionUri;
  const worker = await s.worker();
  await worker.runUntil(async () => {
    // Phase 1: dev as a second root with prod's data; a second setup changes nothing.
    const setupRun = await s.client.startSetup({ projectId: p.projectId });
    const setup = await setupRun.result();
    expect(setup).toMatchObject({ outcome: 'created', prodBranchId: p.branchId, prodProtected: true });
    // Setup's baseline is the fork point: the state of prod dev starts from.
    expect(setup.forkPoint!.name).toBe(resourceName('fork', setupRun.workflowId));
    const again = await s.client.startSetup({ projectId: p.projectId }, { workflowId: `setup-again-${p.projectId}` });
    expect(await again.result()).toMatchObject({ outcome: 'noop' });
    const devUri = await uriOf(s.emu, p, 'dev');
    expect(await sourceOf(devUri)).toEqual(['prod']);

    // Phase 2: a preview of dev, reset, deleted.
    const preview = await s.client.createPreview(
      { projectId: p.projectId, label: 'pr-1', expiresIn: '2d' },
      `create-preview-${p.projectId}`,
    );
    expect(preview).toMatchObject({ outcome: 'created', name: 'preview-pr-1', expiry: { by: 'neon' } });
    const previewUri = await uriOf(s.emu, p, 'preview-pr-1');
    await sql(previewUri, `INSERT INTO items (label, source) VALUES ('scratch', 'preview')`);
    // Neon resets a child of dev (restored from a snapshot by setup) from it only once up to 24 hours have passed.
    s.emu.advanceClock(24 * 3_600_000);
    const reset = await s.client.resetPreview(
      { projectId: p.projectId, name: 'preview-pr-1' },
      `reset-preview-${p.projectId}`,
    );
    expect(reset.outcome).toBe('reset');
    expect(await sourceOf(await uriOf(s.emu, p, 'preview-pr-1'))).toEqual(['prod']);
    expect(
      await s.client.deletePreview({ projectId: p.projectId, name: 'preview-pr-1' }, `delete-preview-${p.projectId}`),
    ).toMatchObject({
      outcome: 'deleted',
    });

    // The change on dev.
    await sql(devUri, `UPDATE items SET source = 'dev'`);
    await sql(devUri, `ALTER TABLE items ADD COLUMN note text`);

    // Phase 3: promote; prod's connection string now serves dev's data; prod's branch ID changed.
    const run = await s.client.startPromotion({ projectId: p.projectId, checks: [itemsCheck] });
    const promoted = await run.result();
    expect(promoted.outcome).toBe('promoted');
    expect(promoted.plan.schemaDiff.diff).toContain('note');
    expect(promoted.prodBranchId.before).toBe(p.branchId);
    expect(promoted.prodBranchId.after).not.toBe(p.branchId);
    expect(await branchId(s.emu, p.projectId, 'prod')).toBe(promoted.prodBranchId.after);
    expect(await sourceOf(prodUri)).toEqual(['dev']);
    const progress = await s.client.getProgress(run.workflowId);
    expect(progress.steps.map((x) => x.name)).toEqual([
      'plan',
      'prod_writes',
      'snapshot_dev',
      'approval',
      'restore_candidate',
      'candidate_endpoint',
      'verify_candidate',
      'fence',
      'snapshot_prod',
      'check_writes',
      'swap',
      'lift_fence',
      'verify_prod',
      'clean_up',
      'retain_rollback_snapshot',
    ]);
    expect(promoted.writes!.sinceFork).toMatchObject({ forkPoint: setup.forkPoint, tables: [], rowsChanged: 0 });
    // The candidate's snapshot is the fork point now (setup's is gone); the fork point's restore is deleted.
    expect(promoted.forkPoint).toMatchObject({ name: resourceName('fork', run.workflowId) });
    const inv = await inventory(s.emu, p.projectId);
    expect(inv.snapshots.map(({ id, name }) => ({ id, name })).sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { id: promoted.forkPoint!.snapshotId, name: resourceName('fork', run.workflowId) },
      { id: promoted.rollbackSnapshotId, name: resourceName('rollback', run.workflowId) },
    ]);
    expect(inv.branches.map((b) => b.name).sort()).toEqual(['dev', resourceName('old', run.workflowId), 'prod']);
    await maybeRecordHistory(run.handle, 'promote');

    // Phase 4: refresh dev from prod: dev's connection string now serves prod's data.
    await sql(prodUri, `INSERT INTO items (label, source) VALUES ('live', 'prod-live')`);
    const refreshRun = await s.client.startRefresh({ projectId: p.projectId });
    const refreshed = await refreshRun.result();
    expect(refreshed.outcome).toBe('refreshed');
    expect(await sourceOf(devUri)).toEqual(['dev', 'prod-live']);
    expect(refreshed.forkPoint.name).toBe(resourceName('fork', refreshRun.workflowId));
    expect((await inventory(s.emu, p.projectId)).snapshots.map((x) => x.name).sort()).toEqual([
      resourceName('fork', refreshRun.workflowId),
      resourceName('rollback', run.workflowId),
    ]);

    // Phase 5: roll back to the pre-promotion snapshot.
    const rollbackRun = await s.client.startRollback({ projectId: p.projectId });
    const rolled = await rollbackRun.result();
    expect(rolled.outcome).toBe('rolled_back');
    expect(await sourceOf(prodUri)).toEqual(['prod']);
    expect(await sql(prodUri, `SELECT count(*)::int AS n FROM items`)).toEqual([{ n: 5 }]);
    // Prod is at a state dev was not forked from: the refresh's fork point is forgotten.
    expect(rolled.forgottenForkPoints).toEqual([refreshed.forkPoint.snapshotId]);
    expect((await inventory(s.emu, p.projectId)).snapshots.map((x) => x.name)).toEqual([
      resourceName('rollback', run.workflowId),
    ]);

    // The janitor deletes only what the product made and no longer needs: a snapshot of someone else's stays.
    await api(s.emu, 'POST', `/projects/${p.projectId}/branches/${rolled.prodBranchId.after}/snapshot?name=manual`);
    const janitorRun = await s.client.startJanitor({
      projectId: p.projectId,
      reserveSnapshotSlots: 9,
      keepRollbackSnapshots: 1,
    });
    const cleaned = await janitorRun.result();
    expect(cleaned.deletedSnapshots).toEqual([]);
    expect((await inventory(s.emu, p.projectId)).snapshots.map((x) => x.name)).toContain('manual');

    for (const [name, handle] of [
      ['setup-environments', setupRun.handle],
      ['refresh-dev', refreshRun.handle],
      ['rollback', rollbackRun.handle],
      ['janitor', janitorRun.handle],
    ] as const)
      await maybeRecordHistory(handle, name);
    for (const name of ['create-preview', 'reset-preview', 'delete-preview'])
      await maybeRecordHistory(s.t.client.workflow.getHandle(`${name}-${p.projectId}`), name);
  });
});
