/**
 * Neon operations that end `failed` (the emulator's fail_operation fault, scoped to one route): a failed delete during
 * cleanup is sent again until the resource is gone, and a failed creation stops the run with nothing left behind.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import type { FaultRule } from '../../../tools/emulator';
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
/** Requests of this project to this route that got an answer. */
const sends = (projectId: string, route: string, from: number): number =>
  s.emu
    .requestLog()
    .slice(from)
    .filter((e) => e.route === route && e.path.includes(`/${projectId}/`) && e.status < 300).length;
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
    const r = await s.client.promote({ projectId: p.projectId, checks: [failingCheck] });
    expect(r.outcome).toBe('aborted');
    // The candidate snapshot's delete was sent three times (two failed) and the candidate branch's twice.
    expect(sends(p.projectId, DELETE_SNAPSHOT, from)).toBe(3);
    expect(sends(p.projectId, DELETE_BRANCH, from)).toBe(2);
    expect(await inventory(s.emu, p.projectId)).toEqual(before);
    expect(await sourceOf(p.connectionUri)).toEqual(['prod']);
  });
});

test("a refresh's clean-up sends a failed snapshot delete again", async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const p = await projectWithChange();
    const from = s.emu.requestLog().length;
    s.emu.setFaults({ rules: [failOps(DELETE_SNAPSHOT, 1)] });
    const r = await (await s.client.startRefresh({ projectId: p.projectId, force: true })).result();
    expect(r.outcome).toBe('refreshed');
    expect(sends(p.projectId, DELETE_SNAPSHOT, from)).toBe(2);
    expect((await inventory(s.emu, p.projectId)).snapshots.filter((x) => x.name.startsWith('np-refresh-'))).toEqual([]);
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
