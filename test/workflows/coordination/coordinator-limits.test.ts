/**
 * The project coordinator's bounds: its history stays short however many runs it admits, also while one run holds
 * the project and others wait (it continues as new carrying them), and its queue holds a bounded number of runs.
 * Runs here are cheap: external entries (runs "started directly") whose end the coordinator awaits through a fake
 * awaitExternalRun the test releases; the queued ones name no open workflow, so their turn passes at once.
 */
import { WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { randomUUID } from 'node:crypto';
import { ProjectBusyError } from '../../../src/client';
import { retryTransientRefusals } from '../../../src/client/admission';
import { UNTRACED_SINKS } from '../../../src/worker';
import {
  coordinatorStateQuery,
  coordinatorWorkflowId,
  submitUpdate,
} from '../../../src/workflows/contract/definitions';
import type { CoordinatorInput } from '../../../src/workflows/coordination/project-coordinator';
import { until } from '../../support/polling';
import { neonActivities, type Stack, startStack } from '../../support/workflow-stack';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename);
});
afterAll(async () => s?.stop());

/** The fake awaitExternalRun: each call for a workflow ID returns once the test releases that ID. */
function heldRuns() {
  const releases = new Map<string, () => void>();
  const gates = new Map<string, Promise<void>>();
  const calls: string[] = [];
  const gate = (workflowId: string) => {
    if (!gates.has(workflowId)) gates.set(workflowId, new Promise<void>((r) => releases.set(workflowId, r)));
    return gates.get(workflowId)!;
  };
  return {
    calls,
    release: (workflowId: string) => {
      void gate(workflowId);
      releases.get(workflowId)!();
    },
    activities: {
      openRunsOf: () => Promise.resolve([]),
      awaitExternalRun: async ({ workflowId }: { workflowId: string }) => {
        calls.push(workflowId);
        // Cancelled when the worker stops: a test that fails before its release still ends.
        await Promise.race([gate(workflowId), Context.current().cancelled]);
      },
    },
  };
}

let seq = 0;
/** A coordinator of a new project started with these limits, and a workflow that can hold that project. */
async function coordinatorWith(limits: CoordinatorInput['limits']) {
  const projectId = `limits-${Date.now()}-${seq++}`;
  const coordinator = await s.t.client.workflow.start('projectCoordinator', {
    taskQueue: s.t.taskQueue,
    workflowId: coordinatorWorkflowId(projectId),
    args: [{ projectId, limits } satisfies CoordinatorInput],
  });
  // Any open workflow takes the turn signal; an idle coordinator of another project stays open.
  const holder = await s.t.client.workflow.start('projectCoordinator', {
    taskQueue: s.t.taskQueue,
    workflowId: coordinatorWorkflowId(`${projectId}-holder`),
    args: [{ projectId: `${projectId}-holder` } satisfies CoordinatorInput],
  });
  // Sent as the client sends them: again after a transient refusal (a submission racing the coordinator's
  // continue-as-new can meet one), which does not change what it asks.
  const submit = (workflowId: string, runId: string = randomUUID()) =>
    retryTransientRefusals(() =>
      coordinator.executeUpdate(submitUpdate, {
        args: [{ kind: 'rollback', workflowId, input: null, ifBusy: 'queue', external: { runId } }],
      }),
    );
  return { projectId, coordinator, holder, submit };
}

/** `coordinatorWith`, its project held by the holder: the holder has had its turn and has not ended. */
async function heldCoordinator(held: ReturnType<typeof heldRuns>, limits: CoordinatorInput['limits']) {
  const coordinated = await coordinatorWith(limits);
  const { holder, submit } = coordinated;
  await submit(holder.workflowId, holder.firstExecutionRunId);
  await until(
    'the holder to have its turn',
    () => held.calls,
    (calls) => calls.includes(holder.workflowId),
  );
  return coordinated;
}

/** Every run of the coordinator's chain, newest first, with its number of history events. */
async function chainOf(handle: WorkflowHandle): Promise<{ runId: string; events: number }[]> {
  const chain: { runId: string; events: number }[] = [];
  let runId: string | undefined = (await handle.describe()).runId;
  while (runId) {
    const history: temporal.api.history.v1.IHistory = await s.t.client.workflow
      .getHandle(handle.workflowId, runId)
      .fetchHistory();
    chain.push({ runId, events: history.events?.length ?? 0 });
    runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  }
  return chain;
}

test('while a run holds the project and many wait, the coordinator continues as new carrying them, in order', async () => {
  const held = heldRuns();
  const worker = await s.worker(held.activities);
  await worker.runUntil(async () => {
    const maxHistoryEvents = 100;
    const { coordinator, holder, submit } = await heldCoordinator(held, { maxHistoryEvents });
    const waiting = Array.from({ length: 60 }, (_, i) => `queued-${i}`);
    for (const [i, workflowId] of waiting.entries()) {
      expect(await submit(workflowId)).toEqual({ workflowId, position: i + 1 });
    }
    const busy = await chainOf(coordinator);
    expect(busy.length).toBeGreaterThan(2);
    expect(await coordinator.query(coordinatorStateQuery)).toMatchObject({
      active: holder.workflowId,
      queued: waiting,
      finished: 0,
    });
    // Each successor awaits the holder again; it has not ended.
    await until(
      'each run to await the holder',
      () => held.calls.filter((id) => id === holder.workflowId).length,
      (n) => n === busy.length,
    );

    held.release(holder.workflowId);
    const done = await until(
      'the queue to drain',
      () => coordinator.query(coordinatorStateQuery),
      (state) => state.active === null,
    );
    expect(done).toMatchObject({ queued: [], finished: waiting.length + 1 });
    const chain = await chainOf(coordinator);
    // A run continues as new at the first workflow task past the bound: a submission or a run's turn adds a few events.
    expect(chain.map((run) => run.events).filter((events) => events > maxHistoryEvents + 20)).toEqual([]);
    await holder.terminate();
  });
}, 120_000);

test('a submission refused when history is past its bound decides nothing that a replay would not decide again', async () => {
  const held = heldRuns();
  const worker = await s.worker(held.activities);
  await worker.runUntil(async () => {
    const maxHistoryEvents = 100;
    const { coordinator, holder, submit } = await heldCoordinator(held, { maxHistoryEvents });
    const first = (await coordinator.describe()).runId;
    const length = async () =>
      (await s.t.client.workflow.getHandle(coordinator.workflowId, first).describe()).historyLength;
    // Admitted submissions up to where the next workflow task starts past the bound: none of them continues as new.
    for (let i = 0; (await length()) + 2 <= maxHistoryEvents; i++) await submit(`queued-${i}`);
    // A submission the validator refuses: its workflow task is dropped from history, so it must not continue as new.
    await expect(
      coordinator.executeUpdate(submitUpdate, {
        args: [
          { kind: 'rollback', workflowId: 'refused', input: null, ifBusy: 'refuse', external: { runId: randomUUID() } },
        ],
      }),
    ).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
    // The next admitted submission is recorded: the coordinator continues as new there, carrying the queue.
    await submit('after-the-bound');
    await until(
      'the coordinator to continue as new',
      () => coordinator.describe(),
      (d) => d.runId !== first,
    );
    // The runs that continued as new, replayed with the production bundle as a restarted worker would.
    const closed = (await chainOf(coordinator)).slice(1);
    expect(closed.length).toBeGreaterThan(0);
    for (const run of closed) {
      const history = await s.t.client.workflow.getHandle(coordinator.workflowId, run.runId).fetchHistory();
      await Worker.runReplayHistory(
        { workflowBundle: s.bundle, sinks: UNTRACED_SINKS },
        history,
        coordinator.workflowId,
      );
    }
    await holder.terminate();
  });
}, 180_000);

test('a submission delivered again after continue-as-new, under the update ID answered before, is not admitted again', async () => {
  // The server can hand a submission its predecessor admitted and answered to the successor, under the same update ID
  // (the 10,000-run reliability test saw it); by then the run has finished and left the queue.
  const held = heldRuns();
  const worker = await s.worker(held.activities);
  await worker.runUntil(async () => {
    const { coordinator, holder, submit } = await coordinatorWith({ maxHistoryEvents: 100 });
    const first = (await coordinator.describe()).runId;
    const run = { workflowId: holder.workflowId, runId: holder.firstExecutionRunId };
    const submission = () =>
      retryTransientRefusals(() =>
        coordinator.executeUpdate(submitUpdate, {
          args: [{ kind: 'rollback', ...run, input: null, ifBusy: 'queue', external: { runId: run.runId } }],
          updateId: `submit-${run.runId}`,
        }),
      );
    const answer = await submission();
    expect(answer).toEqual({ workflowId: run.workflowId, position: 0 });
    await until(
      'the run to have its turn',
      () => held.calls,
      (calls) => calls.includes(run.workflowId),
    );
    held.release(run.workflowId);
    // Runs naming no open workflow (their turns pass at once) until the coordinator continues as new past its bound.
    let others = 0;
    while ((await coordinator.describe()).runId === first) await submit(`other-${others++}`);
    await until(
      'every run to finish',
      () => coordinator.query(coordinatorStateQuery),
      (state) => state.active === null && state.finished === others + 1,
    );
    expect(await submission()).toEqual(answer);
    const after = await until(
      'the coordinator to be idle',
      () => coordinator.query(coordinatorStateQuery),
      (state) => state.active === null,
    );
    expect(after).toMatchObject({ queued: [], finished: others + 1 });
    expect(held.calls.filter((id) => id === run.workflowId)).toHaveLength(1);
    await holder.terminate();
  });
}, 120_000);

test('past the queue bound a submission is refused as busy, naming the bound; a finished run makes room', async () => {
  const held = heldRuns();
  const worker = await s.worker({ ...neonActivities(s.emu), ...held.activities });
  await worker.runUntil(async () => {
    const { projectId, coordinator, holder, submit } = await coordinatorWith({ maxQueuedRuns: 3 });
    const second = await s.t.client.workflow.start('projectCoordinator', {
      taskQueue: s.t.taskQueue,
      workflowId: coordinatorWorkflowId(`${projectId}-second`),
      args: [{ projectId: `${projectId}-second` } satisfies CoordinatorInput],
    });
    await submit(holder.workflowId, holder.firstExecutionRunId);
    await submit(second.workflowId, second.firstExecutionRunId);
    await submit('queued-2');
    const refused = await submit('queued-3').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
    const cause = (refused as WorkflowUpdateFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause).toMatchObject({ type: 'ProjectBusy' });
    expect(cause?.message).toContain('the most its queue holds (3 runs at a time)');
    // The client reads it as any busy project; a run started directly that asked to queue ends refused, saying why.
    const client = await s.client.startRollback({ projectId }).catch((e: unknown) => e);
    expect(client).toBeInstanceOf(ProjectBusyError);
    const direct = await s.t.client.workflow.start('rollback', {
      taskQueue: s.t.taskQueue,
      workflowId: `direct-rollback-${projectId}`,
      args: [{ projectId }],
    });
    const ended: unknown = await direct.result().catch((e: unknown) => e);
    expect(ended).toBeInstanceOf(WorkflowFailedError);
    const refusal = (ended as WorkflowFailedError).cause;
    expect(refusal).toMatchObject({ type: 'ProjectBusy', nonRetryable: true });
    expect(refusal?.message).toContain('the most its queue holds (3 runs at a time)');
    expect(refusal?.message).toContain('this run was started directly, so it ends without touching the project');
    expect(await coordinator.query(coordinatorStateQuery)).toMatchObject({
      active: holder.workflowId,
      queued: [second.workflowId, 'queued-2'],
    });

    held.release(holder.workflowId);
    await until(
      'the holder to be done',
      () => coordinator.query(coordinatorStateQuery),
      (state) => state.finished === 1,
    );
    expect(await submit('queued-3')).toEqual({ workflowId: 'queued-3', position: 2 });
    await Promise.all([holder.terminate(), second.terminate()]);
  });
}, 120_000);
