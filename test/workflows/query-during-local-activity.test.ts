/**
 * A query that reaches a run while a local activity's result waits to be handed to the workflow makes the worker end
 * the workflow task and hand the result over in an extra one, which the server starts at once (requestId
 * `request-from-RespondWorkflowTaskCompleted`). Queries are not in history, so a replay hands the result over one task
 * earlier: workflow time after that local activity is earlier on replay than it was in the run. A decision taken on
 * workflow time there (which expired snapshots to delete) could differ on replay; the promotion and the janitor judge
 * expiry by the time resolveEnvironment listed the snapshots instead, which is recorded with its result.
 *
 * The scenario, as `neon-promote watch` (a progress query every 200 ms) meets a run whose turn comes: the run, started
 * directly on a task queue of its own, waits behind a promotion that awaits approval; its worker stops; the promotion
 * is rejected, so the coordinator signals the run's turn; a progress query is sent; the worker comes back. The query
 * rides on the workflow task that runs resolveEnvironment (local), and is answered slowly (fixtures/slow-queries.ts),
 * so the local activity's result waits while it is. That listing shows one of our snapshots whose expiry passed after
 * the task started and before the listing: inside the gap between the task and the extra one.
 */
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { createHealthActivities } from '../../src/activities/health';
import { createWorker, UNTRACED_SINKS } from '../../src/worker';
import type { JanitorResult, PromoteResult } from '../../src/workflows';
import { progressQuery } from '../../src/workflows/contract/definitions';
import { api, inventory } from '../support/emulator-api';
import { sleep, until } from '../support/polling';
import { bundleProductionWorkflows } from '../support/workflow-bundle';
import { neonActivities, projectWithChange, runWatch, startStack, type Stack } from '../support/workflow-stack';

const EventType = temporal.api.enums.v1.EventType;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

let s: Stack;
/** The production workflows with queries answered slowly. */
let slowQueries: WorkflowBundleWithSourceMap;
const { coordinatorState } = runWatch(() => s);
beforeAll(async () => {
  [s, slowQueries] = await Promise.all([
    startStack(__filename),
    bundleProductionWorkflows([require.resolve('./fixtures/slow-queries')]),
  ]);
});
afterAll(async () => {
  await s?.stop();
});

/** The direct run's own task queue: its worker can be stopped while the coordinator's keeps running. */
const directQueue = () => `${s.t.taskQueue}-direct`;

function directWorker(workflowBundle: WorkflowBundleWithSourceMap, activities: object): Promise<Worker> {
  return createWorker({
    connection: s.t.nativeConnection,
    namespace: s.t.namespace,
    taskQueue: directQueue(),
    workflowBundle,
    activities: { ...createHealthActivities(), ...activities },
    // Its next task goes back to the shared queue a second after this worker stops, where the next worker finds it.
    tuning: { stickyQueueScheduleToStartTimeout: '1s' },
  });
}

/** One of ours (an `np-` name) that an earlier run kept for a day. */
async function expiringSnapshot(projectId: string): Promise<{ id: string; name: string }> {
  const prod = (await inventory(s.emu, projectId)).branches.find((branch) => branch.name === 'prod')!;
  const name = `np-rollback-earlier-run-${projectId}`;
  const expires = new Date(Date.now() + 86_400_000).toISOString();
  const query = new URLSearchParams({ name, expires_at: expires });
  const path = `/projects/${projectId}/branches/${prod.id}/snapshot?${query.toString()}`;
  const { snapshot } = (await api(s.emu, 'POST', path)) as { snapshot: { id: string } };
  return { id: snapshot.id, name };
}

/**
 * Neon activities whose resolveEnvironment lists `snapshotId` with an expiry 50 ms after the activity began: later
 * than the start of the workflow task that runs it, earlier than the listing's own time (taken 100 ms after it began)
 * and than any later task. Neon deletes an expired snapshot some time after its expiry; the emulator's sweeper does
 * within 200 ms, too soon to be seen in a listing, so the expiry is set here.
 */
function activitiesListingExpiry(snapshotId: string, snapshotLimit: number) {
  const activities = neonActivities(s.emu, snapshotLimit);
  const listed = activities.resolveEnvironment;
  const resolveEnvironment: typeof listed = async (input) => {
    const began = Date.now();
    await sleep(100);
    const env = await listed(input);
    const expiresAt = new Date(began + 50).toISOString();
    return {
      ...env,
      snapshots: env.snapshots.map((snapshot) => (snapshot.id === snapshotId ? { ...snapshot, expiresAt } : snapshot)),
    };
  };
  return { ...activities, resolveEnvironment };
}

type Scenario = { history: temporal.api.history.v1.IHistory; handle: WorkflowHandle; expiring: { id: string } };

/**
 * Starts `type` directly behind a promotion that awaits approval and lets its turn come while its worker is stopped,
 * with a progress query sent before the worker comes back with activitiesListingExpiry: its snapshot limit is
 * `snapshotLimitOf` the project's snapshot count at that moment.
 */
async function runAfterQueryOnTurn(
  type: 'promote' | 'janitor',
  snapshotLimitOf: (snapshotsAtTurn: number) => number,
): Promise<Scenario> {
  const coordinatorWorker = await s.worker();
  return coordinatorWorker.runUntil(async () => {
    const project = await projectWithChange(s);
    const { projectId } = project;
    await until(
      'setup to be done',
      () => coordinatorState(projectId),
      (state) => state.active === null,
    );
    const expiring = await expiringSnapshot(projectId);
    const holder = await s.client.startPromotion({ projectId, approval: { required: true, timeout: '1h' } });
    await until(
      'the holder to wait for approval',
      () => s.client.getProgress(holder.workflowId),
      (progress) => progress.currentStep === 'approval',
    );

    const handle = await (
      await directWorker(s.bundle, neonActivities(s.emu))
    ).runUntil(async () => {
      const started = await s.t.client.workflow.start(type, {
        taskQueue: directQueue(),
        workflowId: `direct-${type}-${projectId}`,
        args: [{ projectId }],
      });
      await until(
        'the direct run to be queued',
        () => coordinatorState(projectId),
        (state) => state.queued.includes(started.workflowId),
      );
      return started;
    });

    await s.client.reject(holder.workflowId, 'test');
    expect((await holder.result()).outcome).toBe('aborted');
    await until(
      'the direct run to be signalled its turn',
      async () => (await handle.fetchHistory()).events ?? [],
      (events) => events.some((event) => event.workflowExecutionSignaledEventAttributes?.signalName === 'turn'),
    );
    // Not awaited: the server holds it for the run's next workflow task, which no worker polls yet.
    const query = handle.query(progressQuery);
    await sleep(1500);

    const snapshotsAtTurn = (await inventory(s.emu, projectId)).snapshots.length;
    const activities = activitiesListingExpiry(expiring.id, snapshotLimitOf(snapshotsAtTurn));
    await (
      await directWorker(slowQueries, activities)
    ).runUntil(async () => {
      await query;
      await handle.result();
    });
    return { history: await handle.fetchHistory(), handle, expiring };
  });
}

const eventTime = (event: HistoryEvent): number => {
  const { seconds, nanos } = event.eventTime!;
  return Number(seconds) * 1000 + Math.floor((nanos ?? 0) / 1e6);
};

function localActivityOf(event: HistoryEvent): string | null {
  const marker = event.markerRecordedEventAttributes;
  if (marker?.markerName !== 'core_local_activity') return null;
  const data = marker.details?.data?.payloads?.[0]?.data;
  return data ? (JSON.parse(Buffer.from(data).toString()) as { activity_type: string }).activity_type : null;
}

/**
 * The workflow task that ran resolveEnvironment, and the extra one the query forced right after its marker: the gap
 * between their start times is where workflow time after the local activity differs between run and replay.
 */
function forcedTaskAfterResolve(events: HistoryEvent[]): { taskStartedAt: number; extraTaskStartedAt: number } {
  const marker = events.findIndex((event) => localActivityOf(event) === 'resolveEnvironment');
  expect(marker).toBeGreaterThan(0);
  const [scheduled, started] = [events[marker + 1]!, events[marker + 2]!];
  expect(scheduled.eventType).toBe(EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  expect(started.eventType).toBe(EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED);
  expect(started.workflowTaskStartedEventAttributes?.requestId).toBe('request-from-RespondWorkflowTaskCompleted');
  const taskStarted = events
    .slice(0, marker)
    .reverse()
    .find((event) => event.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)!;
  return { taskStartedAt: eventTime(taskStarted), extraTaskStartedAt: eventTime(started) };
}

/** The listed expiry fell inside the gap: workflow time after resolveEnvironment would have judged it both ways. */
function expectExpiryInGap(events: HistoryEvent[], expiresAt: string): void {
  const { taskStartedAt, extraTaskStartedAt } = forcedTaskAfterResolve(events);
  expect(taskStartedAt).toBeLessThan(Date.parse(expiresAt));
  expect(Date.parse(expiresAt)).toBeLessThan(extraTaskStartedAt);
}

function listedExpiry(events: HistoryEvent[], snapshotId: string): string {
  const marker = events.find((event) => localActivityOf(event) === 'resolveEnvironment')!;
  const result = marker.markerRecordedEventAttributes!.details!.result!.payloads![0]!.data!;
  const env = JSON.parse(Buffer.from(result).toString()) as { snapshots: { id: string; expiresAt: string }[] };
  return env.snapshots.find((snapshot) => snapshot.id === snapshotId)!.expiresAt;
}

test('a promotion whose plan met a query replays, and deletes the snapshot that had expired when it was listed', async () => {
  // One slot free, so the plan makes room by deleting our expired snapshot before it snapshots anything.
  const { history, handle, expiring } = await runAfterQueryOnTurn('promote', (snapshots) => snapshots + 1);
  const events = history.events ?? [];
  expectExpiryInGap(events, listedExpiry(events, expiring.id));

  const result = (await handle.result()) as PromoteResult;
  expect(result.outcome).toBe('promoted');
  expect(result.plan.expiredSnapshots.map((snapshot) => snapshot.id)).toEqual([expiring.id]);
  await expect(
    Worker.runReplayHistory({ workflowBundle: s.bundle, sinks: UNTRACED_SINKS }, history, handle.workflowId),
  ).resolves.toBe(undefined);
});

test('a janitor whose survey met a query replays, and deletes the snapshot that had expired when it was listed', async () => {
  // The usual limit: the janitor deletes what expired whatever the room.
  const { history, handle, expiring } = await runAfterQueryOnTurn('janitor', () => 10);
  const events = history.events ?? [];
  expectExpiryInGap(events, listedExpiry(events, expiring.id));

  const result = (await handle.result()) as JanitorResult;
  expect(result.deletedSnapshots.map(({ id, why }) => ({ id, why }))).toContainEqual({
    id: expiring.id,
    why: 'expired',
  });
  await expect(
    Worker.runReplayHistory({ workflowBundle: s.bundle, sinks: UNTRACED_SINKS }, history, handle.workflowId),
  ).resolves.toBe(undefined);
});
