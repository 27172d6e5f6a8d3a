/**
 * A write fence does not outlive its run: a promotion whose swap has not started by `fenceTimeout` lifts its fence
 * then and stops; a fence an earlier run left is lifted before the next promotion raises its own; a refresh lifts a
 * fence that came onto dev with prod's data.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import type { SeededProject } from '../../tools/emulator';
import { branchId, uriOf } from '../support/emulator-api';
import { until } from '../support/polling';
import { takesWrites, workerHoldingRollbackSnapshot } from '../support/fence';
import { projectWithWrites } from '../support/prod-writes';
import { neonActivities, type Stack, startStack } from '../support/workflow-stack';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename);
});
afterAll(async () => s?.stop());

const prodTakesWrites = (p: SeededProject) => takesWrites(p.connectionUri);

/** A branch's database as the write activities name it. */
const database = (p: SeededProject, branch: string) => ({
  projectId: p.projectId,
  branchId: branch,
  databaseName: p.databaseName,
  roleName: p.roleName,
});

test('the swap not started by fenceTimeout: the run lifts the fence then and stops; prod untouched', async () => {
  const p = await projectWithWrites(s);
  // The rollback snapshot, taken under the fence, is slow: it waits until the test lets it go.
  const { worker, held: slow } = await workerHoldingRollbackSnapshot(s);
  const r = await worker.runUntil(async () => {
    const run = await s.client.startPromotion({ projectId: p.projectId, fenceTimeout: '2s' });
    await slow.reached;
    await until('prod to take writes while the rollback snapshot is held', () => prodTakesWrites(p), Boolean);
    slow.open();
    return run.result();
  });
  expect(r.outcome).toBe('aborted');
  expect(r.reason).toMatch(/fenceTimeout.*prod untouched/);
  expect(r.writes!.fence!.fencedAt).not.toBeNull();
  expect(r.writes!.fence!.liftedAt).not.toBeNull();
  expect(await branchId(s.emu, p.projectId, 'prod')).toBe(p.branchId);
  expect(await prodTakesWrites(p)).toBe(true);
}, 120_000);

test("a fence an earlier run left is lifted, not taken for the owner's setting: the promotion raises its own", async () => {
  const p = await projectWithWrites(s);
  const acts = neonActivities(s.emu);
  await new MockActivityEnvironment().run(acts.fenceWrites, database(p, p.branchId));
  expect(await prodTakesWrites(p)).toBe(false);
  const worker = await s.worker();
  const { r, steps } = await worker.runUntil(async () => {
    const run = await s.client.startPromotion({ projectId: p.projectId });
    return { r: await run.result(), steps: (await s.client.getProgress(run.workflowId)).steps };
  });
  expect(r.outcome).toBe('promoted');
  expect(r.writes!.fence!.fencedAt).not.toBeNull();
  expect(steps.find((step) => step.name === 'fence')?.detail).toMatch(/lifted the fence an earlier run left/);
  expect(await prodTakesWrites(p)).toBe(true);
}, 120_000);

test("a refresh lifts a fence of ours that came onto dev with prod's data", async () => {
  const p = await projectWithWrites(s);
  const acts = neonActivities(s.emu);
  const worker = await s.worker({
    ...acts,
    // Neon's restore brings prod's catalog, a fence on prod's database with it; the emulator copies only the data.
    finalizeRestore: async (input: Parameters<typeof acts.finalizeRestore>[0]) => {
      const finalized = await acts.finalizeRestore(input);
      await acts.fenceWrites(database(p, input.branchId));
      return finalized;
    },
  });
  const { r, steps } = await worker.runUntil(async () => {
    const run = await s.client.startRefresh({ projectId: p.projectId });
    return { r: await run.result(), steps: (await s.client.getProgress(run.workflowId)).steps };
  });
  expect(r.outcome).toBe('refreshed');
  expect(await takesWrites(await uriOf(s.emu, p, 'dev'))).toBe(true);
  expect(steps.find((step) => step.name === 'verify_dev')?.detail).toMatch(/lifted the write fence/);
}, 120_000);
