/**
 * A rollback snapshot's retention starts only once its run no longer needs it: with the shortest retention a promotion
 * accepts (60 s) and a post-swap verification that outlasts it, prod still rolls back from the snapshot. The
 * emulator's sweeper deletes expired snapshots every 200 ms, as Neon deletes them at their expiry.
 */
import { Context } from '@temporalio/activity';
import { setTimeout as wait } from 'node:timers/promises';
import { api, inventory } from '../../support/emulator-api';
import { maybeRecordHistory } from '../../support/histories';
import {
  neonActivities,
  projectWithChange,
  seedProd,
  sourceOf,
  type Stack,
  startStack,
} from '../../support/workflow-stack';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename);
});
afterAll(async () => s?.stop());

const RETENTION_MS = 60_000;

/** Waits, heartbeating, until the run's rollback snapshot is older than its retention and a sweep has run. */
async function outlastRetention(projectId: string): Promise<void> {
  const { snapshots } = (await api(s.emu, 'GET', `/projects/${projectId}/snapshots`)) as {
    snapshots: { name: string; created_at: string }[];
  };
  const rollback = snapshots.find((snapshot) => snapshot.name.startsWith('np-rollback-'))!;
  const past = Date.parse(rollback.created_at) + RETENTION_MS + 1000;
  while (Date.now() < past) {
    Context.current().heartbeat();
    await wait(1000);
  }
  await fetch(`${s.emu.adminUrl}/sweep`, { method: 'POST' });
}

test('a post-swap verification that outlasts a 60 s retention still rolls prod back from its snapshot, which goes after the run', async () => {
  const acts = neonActivities(s.emu);
  const worker = await s.worker({
    ...acts,
    verifyBranch: async (input: Parameters<typeof acts.verifyBranch>[0]) => {
      if (input.checks.some((check) => check.name === 'slow and failing')) await outlastRetention(input.projectId);
      return acts.verifyBranch(input);
    },
  });
  await worker.runUntil(async () => {
    const p = await projectWithChange(s);
    const run = await s.client.startPromotion({
      projectId: p.projectId,
      retention: { rollbackSnapshot: RETENTION_MS },
      postSwapChecks: [{ kind: 'sql', name: 'slow and failing', sql: 'SELECT 1', expect: { value: 2 } }],
    });
    const result = await run.result();
    expect(result).toMatchObject({ outcome: 'rolled_back' });
    expect(result.reason).toContain('slow and failing');
    expect(await sourceOf(p.connectionUri)).toEqual(['prod']);
    // Its retention had passed by the run's end: the timer deletes it at once.
    expect(Date.parse(result.rollbackSnapshotExpiresAt!)).toBeLessThan(Date.now());
    await s.t.client.workflow.getHandle(`${run.workflowId}-rollback-expiry`).result();
    const left = (await inventory(s.emu, p.projectId)).snapshots.map((snapshot) => snapshot.id);
    expect(left).not.toContain(result.rollbackSnapshotId);
  });
}, 300_000);

test('a promoted run leaves its rollback snapshot without expiry, to a timer that deletes it at the end of its retention', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const p = await projectWithChange(s);
    const run = await s.client.startPromotion({ projectId: p.projectId, retention: { rollbackSnapshot: '1h' } });
    const result = await run.result();
    expect(result.outcome).toBe('promoted');
    const { snapshots } = (await api(s.emu, 'GET', `/projects/${p.projectId}/snapshots`)) as {
      snapshots: { id: string; created_at: string; expires_at?: string }[];
    };
    const snapshot = snapshots.find((taken) => taken.id === result.rollbackSnapshotId)!;
    expect(snapshot.expires_at).toBeUndefined();
    expect(Date.parse(result.rollbackSnapshotExpiresAt!)).toBe(Date.parse(snapshot.created_at) + 3_600_000);
    const timer = s.t.client.workflow.getHandle(`${run.workflowId}-rollback-expiry`);
    expect((await timer.describe()).status.name).toBe('RUNNING');
    await timer.terminate('test over');
  });
}, 180_000);

test('the expiry timer deletes its snapshot at the time given, and finds one already gone no error', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const p = await seedProd(s.emu, 1);
    const { snapshot } = (await api(
      s.emu,
      'POST',
      `/projects/${p.projectId}/branches/${p.branchId}/snapshot?name=np-rollback-timer-test`,
    )) as { snapshot: { id: string } };
    const start = () =>
      s.t.client.workflow.start('expireSnapshot', {
        taskQueue: s.t.taskQueue,
        workflowId: `expire-${snapshot.id}-${Date.now()}`,
        args: [{ projectId: p.projectId, snapshotId: snapshot.id, at: new Date(Date.now() + 1000).toISOString() }],
      });
    const expire = async (): Promise<unknown> => (await start()).result();
    const first = await start();
    await expect(first.result()).resolves.toMatchObject({ outcome: 'deleted' });
    await maybeRecordHistory(first, 'expire-snapshot');
    expect((await inventory(s.emu, p.projectId)).snapshots.map((left) => left.id)).not.toContain(snapshot.id);
    await expect(expire()).resolves.toMatchObject({ outcome: 'deleted' });
  });
}, 120_000);
