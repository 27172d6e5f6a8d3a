/**
 * Neon operations that end `failed` (the emulator's fail_operation fault, scoped to one route): a failed delete during
 * cleanup is sent again until the resource is gone, and a failed creation stops the run with nothing left behind.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import type { FaultRule } from '../../../tools/emulator';
import { resourceName } from '../../../src/workflows/contract/names';
import { inventory, uriOf } from '../../support/emulator-api';
import { sql } from '../../support/postgres';
import { seedProd, sourceOf, type Stack, startStack } from '../../support/workflow-stack';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename);
});
afterAll(async () => s?.stop());
afterEach(() => s.emu.setFaults({ rules: [] }));

const DELETE_SNAPSHOT = 'DELETE /projects/{project_id}/snapshots/{snapshot_id}';
const DELETE_BRANCH = 'DELETE /projects/{project_id}/branches/{branch_id}';
/** Requests of this project to this route that got an answer: the last part of each path, in the order sent. */
const sentTo = (projectId: string, route: string, from: number): string[] =>
  s.emu
    .requestLog()
    .slice(from)
    .filter((e) => e.route === route && e.path.includes(`/${projectId}/`) && e.status < 300)
    .map((e) => e.path.split('/').at(-1)!);
const failOps = (route: string, times: number): FaultRule => ({ kind: 'fail_operation', route, times });

/** A set-up project whose dev holds a change, so a check for prod's rows fails on the candidate. */
async function projectWithChange() {
  const p = await seedProd(s.emu, 3);
  await (await s.client.startSetup({ projectId: p.projectId })).result();
  await sql(await uriOf(s.emu, p, 'dev'), `UPDATE items SET source = 'dev'`);
  return p;
}

const failingCheck = {
  kind: 'sql' as const,
  name: 'prod rows only',
  sql: `SELECT count(*) FROM items WHERE source = 'dev'`,
  expect: { value: 0 },
};

test('a failed delete operation during the clean-up is sent again: an aborted promotion leaves nothing behind', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const p = await projectWithChange();
    const before = await inventory(s.emu, p.projectId);
    const from = s.emu.requestLog().length;
    s.emu.setFaults({ rules: [failOps(DELETE_SNAPSHOT, 2), failOps(DELETE_BRANCH, 1)] });
    const run = await s.client.startPromotion({ projectId: p.projectId, checks: [failingCheck] });
    expect((await run.result()).outcome).toBe('aborted');
    const { steps } = await s.client.getProgress(run.workflowId);
    const idOf = (step: string, key: string) => steps.find((x) => x.name === step)!.ids[key];
    // Newest first: the candidate branch's delete was sent twice (one failed), the candidate snapshot's three times
    // (two failed), then the fork point's branch's once.
    const candidateBranchId = idOf('restore_candidate', 'branchId');
    expect(sentTo(p.projectId, DELETE_BRANCH, from)).toEqual([
      candidateBranchId,
      candidateBranchId,
      idOf('prod_writes', 'baseBranchId'),
    ]);
    expect(sentTo(p.projectId, DELETE_SNAPSHOT, from)).toEqual(Array(3).fill(idOf('snapshot_dev', 'snapshotId')));
    expect(await inventory(s.emu, p.projectId)).toEqual(before);
    expect(await sourceOf(p.connectionUri)).toEqual(['prod']);
  });
});

test("a refresh's clean-up sends a failed snapshot delete again", async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const p = await projectWithChange();
    const [setupForkPoint] = (await inventory(s.emu, p.projectId)).snapshots;
    const from = s.emu.requestLog().length;
    s.emu.setFaults({ rules: [failOps(DELETE_SNAPSHOT, 1)] });
    const run = await s.client.startRefresh({ projectId: p.projectId, force: true });
    const r = await run.result();
    expect(r.outcome).toBe('refreshed');
    // The refresh's snapshot is the fork point now; setup's is deleted, its failed delete sent again.
    expect(sentTo(p.projectId, DELETE_SNAPSHOT, from)).toEqual([setupForkPoint!.id, setupForkPoint!.id]);
    expect((await inventory(s.emu, p.projectId)).snapshots.map((x) => x.name)).toEqual([
      resourceName('fork', run.workflowId),
    ]);
  });
});

test('a failed snapshot creation stops the promotion with OperationFailed, prod untouched and nothing left', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const p = await projectWithChange();
    const before = await inventory(s.emu, p.projectId);
    s.emu.setFaults({ rules: [failOps('POST /projects/{project_id}/branches/{branch_id}/snapshot', 1)] });
    const err: unknown = await s.client.promote({ projectId: p.projectId }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const activity = (err as WorkflowFailedError).cause;
    expect(activity).toBeInstanceOf(ActivityFailure);
    expect(activity?.cause).toBeInstanceOf(ApplicationFailure);
    expect((activity?.cause as ApplicationFailure).type).toBe('OperationFailed');
    expect(await inventory(s.emu, p.projectId)).toEqual(before);
    expect(await sourceOf(p.connectionUri)).toEqual(['prod']);
  });
});
