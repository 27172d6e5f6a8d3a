import { WorkflowNotFoundError } from '@temporalio/client';
import { InvalidInputError } from '../../../src/client/errors';
import type { RefreshResult, ScheduledRunResult } from '../../../src/workflows';
import { coordinatorStateQuery, coordinatorWorkflowId } from '../../../src/workflows/contract/definitions';
import { uriOf } from '../../support/emulator-api';
import { untilDefined } from '../../support/polling';
import { sql } from '../../support/postgres';
import { seedProd, type Stack, startStack } from '../../support/workflow-stack';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename);
});
afterAll(async () => s?.stop());

async function heldPromotion(projectId: string) {
  const run = await s.client.startPromotion({ projectId, approval: { required: true, timeout: '1h' } });
  await untilDefined('the approval step', async () =>
    (await s.client.getProgress(run.workflowId)).currentStep === 'approval' ? true : undefined,
  );
  return run;
}

/** The workflow the schedule started at its n-th firing (1-based). */
const firing = (projectId: string, n: number) =>
  untilDefined(`firing ${n}`, async () => (await s.client.describeSchedule(projectId, 'refresh')).recentRuns[n - 1]);

test('a scheduled refresh that meets a promotion waits for it (queue) or is skipped (refuse), and never overlaps', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const p = await seedProd(s.emu, 3);
    await (await s.client.startSetup({ projectId: p.projectId })).result();
    await sql(await uriOf(s.emu, p, 'dev'), `UPDATE items SET source = 'dev'`);

    // ifBusy 'queue': the firing's refresh waits behind the promotion, touching nothing, and runs after it.
    const created = await s.client.scheduleRefresh(p.projectId, { cron: '0 3 * * *', ifBusy: 'queue' });
    expect(created).toMatchObject({ scheduleId: `neon-promote-refresh-${p.projectId}`, paused: false });
    expect(created.nextRuns[0]).toMatch(/T03:00:00/);
    const promotion = await heldPromotion(p.projectId);
    await s.client.triggerSchedule(p.projectId, 'refresh');
    const first = await firing(p.projectId, 1);
    const refreshId = `${first.workflowId}-refresh`;
    const coordinator = s.t.client.workflow.getHandle(coordinatorWorkflowId(p.projectId));
    await untilDefined('the refresh queued', async () =>
      (await coordinator.query(coordinatorStateQuery)).queued.includes(refreshId) ? true : undefined,
    );
    // The coordinator lists the run as soon as it admits it; the child workflow exists a moment later.
    const queued = await untilDefined('the queued refresh started', () =>
      s.client.getProgress(refreshId).catch(() => undefined),
    );
    expect(queued).toMatchObject({ queued: true, steps: [] });

    // A second firing while the first still waits is skipped by the schedule's overlap policy.
    await s.client.triggerSchedule(p.projectId, 'refresh');
    const handle = s.t.client.schedule.getHandle(created.scheduleId);
    await untilDefined('the overlap skip', async () =>
      (await handle.describe()).info.numActionsSkippedOverlap === 1 ? true : undefined,
    );
    expect((await s.client.describeSchedule(p.projectId, 'refresh')).recentRuns).toHaveLength(1);

    await s.client.approve(promotion.workflowId, 'alice');
    expect((await promotion.result()).outcome).toBe('promoted');
    const scheduled = s.t.client.workflow.getHandle(first.workflowId);
    expect((await scheduled.result()) as ScheduledRunResult).toMatchObject({
      outcome: 'refreshed',
      runWorkflowId: refreshId,
    });
    expect((await s.client.result<RefreshResult>(refreshId)).outcome).toBe('refreshed');
    const [pa, pr] = await Promise.all([s.client.getProgress(promotion.workflowId), s.client.getProgress(refreshId)]);
    expect(pr.steps[0]!.startedAt >= pa.steps.at(-1)!.endedAt!).toBe(true);

    // ifBusy 'refuse' (the same schedule, updated): the firing is skipped and starts no refresh at all.
    await s.client.scheduleRefresh(p.projectId, { cron: '0 3 * * *', ifBusy: 'refuse' });
    const again = await heldPromotion(p.projectId);
    await s.client.triggerSchedule(p.projectId, 'refresh');
    const second = await firing(p.projectId, 2);
    const skipped = (await s.t.client.workflow.getHandle(second.workflowId).result()) as ScheduledRunResult;
    expect(skipped).toMatchObject({ outcome: 'refused', runWorkflowId: null });
    expect(skipped.reason).toContain(again.workflowId);
    await expect(s.t.client.workflow.getHandle(`${second.workflowId}-refresh`).describe()).rejects.toBeInstanceOf(
      WorkflowNotFoundError,
    );
    expect(await s.client.getProgress(again.workflowId)).toMatchObject({ currentStep: 'approval' });
    await s.client.reject(again.workflowId, 'bob');
    expect((await again.result()).outcome).toBe('aborted');

    // Paused, listed, deleted.
    await s.client.pauseSchedule(p.projectId, 'refresh', 'maintenance');
    expect(await s.client.describeSchedule(p.projectId, 'refresh')).toMatchObject({
      paused: true,
      note: 'maintenance',
    });
    await s.client.deleteSchedule(p.projectId, 'refresh');
    await expect(s.client.describeSchedule(p.projectId, 'refresh')).rejects.toThrow(/no schedule/);
  });
});

test('a janitor schedule runs the janitor through the coordinator; listRuns shows the runs newest first', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const p = await seedProd(s.emu, 1);
    await (await s.client.startSetup({ projectId: p.projectId })).result();
    const created = await s.client.scheduleJanitor(p.projectId, { cron: '@daily', ifBusy: 'refuse' });
    expect(created).toMatchObject({
      kind: 'janitor',
      ifBusy: 'refuse',
      scheduleId: `neon-promote-janitor-${p.projectId}`,
    });
    await s.client.triggerSchedule(p.projectId, 'janitor');
    const fired = await untilDefined(
      'the janitor firing',
      async () => (await s.client.describeSchedule(p.projectId, 'janitor')).recentRuns[0],
    );
    const done = (await s.t.client.workflow.getHandle(fired.workflowId).result()) as ScheduledRunResult;
    expect(done).toMatchObject({ outcome: 'noop', runWorkflowId: `${fired.workflowId}-janitor` });

    // The firing and its run are findable by project; the coordinator (plumbing) is not listed.
    const runs = await untilDefined('the runs in visibility', async () => {
      const r = await s.client.listRuns(p.projectId);
      return r.length === 3 && r.every((x) => x.status === 'COMPLETED') ? r : undefined;
    });
    expect(runs.map((r) => r.type)).toEqual(['janitor', 'scheduledRun', 'setupEnvironments']);
    expect(runs[0]).toMatchObject({ outcome: 'noop', phase: 'done' });
    expect(runs.map((r) => r.startTime)).toEqual(
      runs
        .map((r) => r.startTime)
        .sort()
        .reverse(),
    );
    expect(await s.client.listSchedules(p.projectId)).toEqual([expect.objectContaining({ kind: 'janitor' })]);
    await s.client.deleteSchedule(p.projectId, 'janitor');
  });
});

test('a bad cron, time zone, ifBusy or project is refused as invalid input and creates no schedule', async () => {
  const id = 'lone-project-1';
  for (const settings of [
    { cron: 'every night' },
    { cron: '99 3 * * *' },
    { cron: '0 3 * * *', timezone: 'Mars/Olympus' },
  ]) {
    const err = await s.client.scheduleRefresh(id, settings).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as Error).message).toMatch(/^invalid input: (cron|timezone): /);
  }
  await expect(s.client.scheduleRefresh(id, { cron: '0 3 * * *', ifBusy: 'maybe' as never })).rejects.toThrow(/ifBusy/);
  await expect(s.client.scheduleJanitor('NOT A PROJECT', { cron: '0 3 * * *' })).rejects.toThrow(/projectId/);
  await expect(s.client.describeSchedule(id, 'refresh')).rejects.toThrow(/no schedule/);
});
