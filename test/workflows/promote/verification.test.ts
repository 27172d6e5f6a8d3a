import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { InvalidInputError } from '../../../src/client';
import type { PromoteResult } from '../../../src/workflows';
import { resourceName } from '../../../src/workflows/contract/names';
import { maybeRecordHistory } from '../../support/histories';
import { branchId, inventory, mutatingCalls, uriOf } from '../../support/emulator-api';
import { sql } from '../../support/postgres';
import { until } from '../../support/polling';
import { neonActivities, seedProd, sourceOf, type Stack, startStack } from '../../support/workflow-stack';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename);
});
afterAll(async () => s?.stop());

/** A project set up for promotion whose dev holds a change (source='dev' and a new column). */
async function projectWithChange() {
  const p = await seedProd(s.emu, 4);
  await (await s.client.startSetup({ projectId: p.projectId })).result();
  const devUri = await uriOf(s.emu, p, 'dev');
  await sql(devUri, `UPDATE items SET source = 'dev'`);
  await sql(devUri, `ALTER TABLE items ADD COLUMN note text`);
  return p;
}

const mutating = (): string[] => mutatingCalls(s.emu);

test('a failing check on the candidate stops before the swap: prod keeps its data and branch ID, nothing is left behind', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const p = await projectWithChange();
    const before = await inventory(s.emu, p.projectId);
    const run = await s.client.startPromotion({
      projectId: p.projectId,
      checks: [
        {
          kind: 'sql',
          name: 'no dev rows',
          sql: `SELECT count(*) FROM items WHERE source = 'dev'`,
          expect: { value: 0 },
        },
      ],
    });
    const r = await run.result();
    expect(r).toMatchObject({ outcome: 'aborted', prodBranchId: { before: p.branchId, after: p.branchId } });
    expect(r.reason).toContain('no dev rows');
    expect(r.verification.candidate?.failedCheck).toBe('no dev rows');
    expect(await branchId(s.emu, p.projectId, 'prod')).toBe(p.branchId);
    expect(await sourceOf(p.connectionUri)).toEqual(['prod']);
    // The run's snapshots and the restored candidate are gone: the project looks as it did.
    expect(await inventory(s.emu, p.projectId)).toEqual(before);
    await maybeRecordHistory(run.handle, 'promote-aborted');
  });
});

test('a failing check on prod after the swap rolls prod back to its pre-promotion data: outcome rolled_back', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const p = await projectWithChange();
    const [forkPoint] = (await inventory(s.emu, p.projectId)).snapshots;
    const run = await s.client.startPromotion({
      projectId: p.projectId,
      checks: [{ kind: 'tablesExist', tables: ['items'] }],
      postSwapChecks: [
        { kind: 'sql', name: 'app smoke test', sql: 'SELECT count(*) FROM items', expect: { value: 999 } },
      ],
    });
    const r: PromoteResult = await run.result();
    expect(r.outcome).toBe('rolled_back');
    expect(r.reason).toContain('app smoke test');
    expect(await sourceOf(p.connectionUri)).toEqual(['prod']);
    const columns = await sql(
      p.connectionUri,
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'items' ORDER BY 1`,
    );
    expect(columns.map((c) => c.column_name)).toEqual(['id', 'label', 'source']);
    // Prod is a third branch now (restored from the rollback snapshot), reached through the same endpoint.
    expect(r.prodBranchId.after).toBe(await branchId(s.emu, p.projectId, 'prod'));
    expect(r.prodBranchId.after).not.toBe(p.branchId);
    const progress = await s.client.getProgress(run.workflowId);
    expect(progress.steps.map((x) => x.name)).toContain('roll_back');
    expect(progress.outcome).toBe('rolled_back');
    // Prod is back at a state dev was forked from: setup's fork point stays, the candidate's snapshot is gone.
    expect(forkPoint!.name).toMatch(/^np-fork-setup-/);
    expect(r.forkPoint).toMatchObject({ snapshotId: forkPoint!.id, name: forkPoint!.name });
    const inv = await inventory(s.emu, p.projectId);
    expect(inv.snapshots.map(({ id, name }) => ({ id, name })).sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { id: forkPoint!.id, name: forkPoint!.name },
      { id: r.rollbackSnapshotId, name: resourceName('rollback', run.workflowId) },
    ]);
    await maybeRecordHistory(run.handle, 'promote-rolled-back');
  });
});

test('a rollback whose Neon operations fail is tried again: prod still ends with its pre-promotion data', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const p = await projectWithChange();
    s.emu.resetRequestLog();
    const restore = 'POST /projects/{project_id}/snapshots/{snapshot_id}/restore';
    const finalize = 'POST /projects/{project_id}/branches/{branch_id}/finalize_restore';
    const run = await s.client.startPromotion({
      projectId: p.projectId,
      checks: [{ kind: 'tablesExist', tables: ['items'] }],
      // Slow enough that the faults below are in place before the rollback's first call.
      postSwapChecks: [
        { kind: 'sql', name: 'smoke', sql: 'SELECT count(*) FROM items, pg_sleep(1)', expect: { value: 0 } },
      ],
    });
    // Once the swap's finalize has answered, the rollback's restore fails its operation twice and its finalize once.
    await until('the swap', () => s.emu.requestLog().some((r) => r.route === finalize && r.status === 200), Boolean, {
      intervalMs: 10,
    });
    s.emu.setFaults({
      rules: [
        { kind: 'fail_operation', route: restore, times: 2 },
        { kind: 'fail_operation', route: finalize, times: 1 },
      ],
    });
    try {
      const r = await run.result();
      expect(r).toMatchObject({ outcome: 'rolled_back' });
      expect(r.reason).toContain('smoke');
    } finally {
      s.emu.setFaults({ rules: [] });
    }
    expect(await sourceOf(p.connectionUri)).toEqual(['prod']);
    // After the swap: the rollback's restore three times (two failed operations), its finalize twice (one failed).
    const log = s.emu.requestLog();
    const afterSwap = log.slice(log.findIndex((r) => r.route === finalize) + 1);
    expect(afterSwap.filter((r) => r.route === restore)).toHaveLength(3);
    expect(afterSwap.filter((r) => r.route === finalize)).toHaveLength(2);
  });
});

test('a clean-up that fails after a verified swap says prod is the candidate, not that it was rolled back', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const p = await projectWithChange();
    // Adopting the candidate's snapshot as the fork point renames it: the one rename of the run, refused here.
    s.emu.setFaults({
      rules: [{ kind: 'error', status: 400, route: 'PATCH /projects/{project_id}/snapshots/{snapshot_id}' }],
    });
    try {
      const run = await s.client.startPromotion({
        projectId: p.projectId,
        checks: [{ kind: 'tablesExist', tables: ['items'] }],
      });
      await expect(run.result()).rejects.toBeInstanceOf(WorkflowFailedError);
      const progress = await s.client.getProgress(run.workflowId);
      expect(progress.outcome).toBe('failed');
      expect(progress.reason).toContain('prod is the candidate');
      expect(progress.reason).not.toContain('rolled back');
    } finally {
      s.emu.setFaults({ rules: [] });
    }
    expect(await sourceOf(p.connectionUri)).toEqual(['dev']);
  });
});

test('a dry run returns the plan with the schema diff and leaves Neon as it found it', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const p = await projectWithChange();
    const before = await inventory(s.emu, p.projectId);
    const [forkPoint] = before.snapshots;
    s.emu.resetRequestLog();
    const run = await s.client.startPromotion({ projectId: p.projectId, dryRun: true });
    const r = await run.result();
    expect(r).toMatchObject({ outcome: 'dry_run', reason: null });
    expect(r.plan.schemaDiff.identical).toBe(false);
    expect(r.plan.schemaDiff.diff).toContain('note');
    expect(r.writes!.sinceFork).toMatchObject({ forkPoint: { snapshotId: forkPoint!.id }, tables: [] });
    // The only change it makes is the fork point restored next to prod to count prod's writes, deleted again.
    const progress = await s.client.getProgress(run.workflowId);
    expect(progress.steps.map((x) => x.name)).toEqual(['plan', 'prod_writes', 'clean_up']);
    const baseBranchId = progress.steps.find((x) => x.name === 'prod_writes')!.ids.baseBranchId;
    const project = `/api/v2/projects/${p.projectId}`;
    expect(mutating()).toEqual([
      `POST ${project}/snapshots/${forkPoint!.id}/restore`,
      `POST ${project}/endpoints`,
      `DELETE ${project}/branches/${baseBranchId}`,
    ]);
    expect(await inventory(s.emu, p.projectId)).toEqual(before);
  });
});

test('invalid input fails at once, non-retryable, naming the field, before any Neon call', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    s.emu.resetRequestLog();
    const bad = { projectId: 'p-1', checks: [{ kind: 'sql', sql: '', expect: { value: 1 } }] };
    // Through the client: refused before anything starts.
    await expect(s.client.startPromotion(bad as never)).rejects.toMatchObject({
      name: 'InvalidInputError',
      field: 'checks.0.sql',
    });
    await expect(s.client.startPromotion({ projectId: 'p-1', devBranchName: 'prod' })).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    // Started directly: the workflow itself refuses it.
    const err: unknown = await s.t.client.workflow
      .execute('promote', { taskQueue: s.t.taskQueue, workflowId: `bad-${Date.now()}`, args: [bad] })
      .then(() => undefined)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
    expect(cause?.message).toContain('checks.0.sql');
    expect(s.emu.requestLog()).toEqual([]);
  });
});

test('a project without room for two snapshots is refused in the plan, with nothing changed', async () => {
  const worker = await s.worker(neonActivities(s.emu, 3));
  await worker.runUntil(async () => {
    const p = await projectWithChange();
    // Of three slots, the fork point holds one and a snapshot the product did not take another: it must not be deleted.
    await fetch(`${s.emu.baseUrl}/projects/${p.projectId}/branches/${p.branchId}/snapshot?name=manual`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.emu.apiKey}` },
    });
    const before = await inventory(s.emu, p.projectId);
    expect(before.snapshots.map((x) => x.name)).toEqual([expect.stringMatching(/^np-fork-setup-/), 'manual']);
    s.emu.resetRequestLog();
    const err = await s.client.promote({ projectId: p.projectId }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause).toMatchObject({ type: 'SnapshotQuota' });
    expect(mutating()).toEqual([]);
    expect(await inventory(s.emu, p.projectId)).toEqual(before);
  });
});
