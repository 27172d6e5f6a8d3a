import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { RefreshResult } from '../../../src/workflows/environments/refresh';
import { uriOf } from '../../support/emulator-api';
import { sql } from '../../support/postgres';
import { seedProd, sourceOf, type Stack, startStack } from '../../support/workflow-stack';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename);
});
afterAll(async () => s?.stop());

/** A project with prod and dev (setup done, so a worker must run), a second table on both, and dev's connection string. */
async function project() {
  const p = await seedProd(s.emu, 3);
  await sql(p.connectionUri, `CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes VALUES (1, 'a')`);
  expect((await (await s.client.startSetup({ projectId: p.projectId })).result()).outcome).toBe('created');
  return { p, devUri: await uriOf(s.emu, p, 'dev') };
}

/** Runs a refresh that must be refused, and returns the failure's cause after checking the chain. */
async function refused(projectId: string): Promise<ApplicationFailure> {
  const err = await (await s.client.startRefresh({ projectId })).result().then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  expect(cause).toMatchObject({ type: 'UnpromotedChanges', nonRetryable: true });
  return cause as ApplicationFailure;
}

test('never promoted: an unpromoted data change on dev refuses the refresh naming its table; force refreshes', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const { p, devUri } = await project();
    await sql(devUri, `UPDATE notes SET body = 'changed on dev'`);

    const cause = await refused(p.projectId);
    expect(cause.message).toContain('public.notes');
    expect(cause.message).not.toContain('public.items');
    expect(cause.message).toContain("differs from prod's in public.notes");
    expect(await sql(devUri, `SELECT body FROM notes`)).toEqual([{ body: 'changed on dev' }]);

    const forced: RefreshResult = await (await s.client.startRefresh({ projectId: p.projectId, force: true })).result();
    expect(forced.outcome).toBe('refreshed');
    expect(forced.unpromotedChanges).toEqual({
      schema: false,
      tablesChanged: ['public.notes'],
      baseline: 'prod',
      baselineWorkflowId: null,
    });
    expect(await sql(devUri, `SELECT body FROM notes`)).toEqual([{ body: 'a' }]);
    expect(forced.devFingerprint?.tables.map((t) => [t.table, t.rows])).toEqual([
      ['public.items', 3],
      ['public.notes', 1],
    ]);
  });
});

test('right after a promotion dev has nothing unpromoted (prod written since); a later dev change is refused against the last refresh', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const { p, devUri } = await project();
    await sql(devUri, `UPDATE items SET source = 'dev'`);
    const promotion = await s.client.startPromotion({ projectId: p.projectId });
    const promoted = await promotion.result();
    expect(promoted.outcome).toBe('promoted');
    expect(promoted.candidateFingerprint?.tables.map((t) => t.table)).toEqual(['public.items', 'public.notes']);

    // Prod's own writes after the promotion are not dev's changes.
    await sql(p.connectionUri, `INSERT INTO items (label, source) VALUES ('live', 'prod-live')`);
    const refreshRun = await s.client.startRefresh({ projectId: p.projectId });
    const refreshed = await refreshRun.result();
    expect(refreshed.unpromotedChanges).toEqual({
      schema: false,
      tablesChanged: [],
      baseline: 'last_promotion',
      baselineWorkflowId: promotion.workflowId,
    });
    expect(await sourceOf(devUri)).toEqual(['dev', 'prod-live']);
    const progress = await s.client.getProgress(refreshRun.workflowId);
    expect(progress.steps.map((x) => x.name)).toEqual([
      'plan',
      'snapshot_prod',
      'swap',
      'verify_dev',
      'fingerprint_dev',
      'clean_up',
    ]);

    // The refresh is the new baseline: a row added on dev afterwards is unpromoted.
    await sql(devUri, `INSERT INTO items (label, source) VALUES ('draft', 'dev')`);
    const cause = await refused(p.projectId);
    expect(cause.message).toContain(`last refresh (${refreshRun.workflowId})`);
    expect(cause.message).toContain('public.items');
    expect(cause.message).not.toContain('public.notes');
  });
});
