/**
 * A project's coordinator admits every mutating run of the project for as long as the project exists: its history
 * must stay bounded however many runs it has admitted, or a busy project grows it toward Temporal's limit and its
 * runs stop being admitted. Here one coordinator, with its production limits, admits thousands of runs (10,000 in the
 * full suite), submitted many at a time as a fleet of callers would; each is an external entry naming no open
 * workflow, so its turn passes at once, as for a run cancelled while it waited. Every run of the coordinator's chain
 * is then read back.
 */
import type { WorkflowHandle } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { randomUUID } from 'node:crypto';
import { retryTransientRefusals } from '../../src/client/admission';
import { coordinatorStateQuery, coordinatorWorkflowId, submitUpdate } from '../../src/workflows/contract/definitions';
import { COORDINATOR_LIMITS, type CoordinatorInput } from '../../src/workflows/coordination/project-coordinator';
import { sleep, until } from '../support/polling';
import { FULL, record, section } from '../support/reliability';
import { type Stack, startStack } from '../support/workflow-stack';

const RUNS = FULL ? 10_000 : 300;
/** Callers submitting at once. */
const CALLERS = 25;

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename);
});
afterAll(async () => s?.stop());

/** Every run of the coordinator's chain, oldest first, with its number of history events. */
async function chainOf(handle: WorkflowHandle): Promise<number[]> {
  const events: number[] = [];
  let runId: string | undefined = (await handle.describe()).runId;
  while (runId) {
    const history: temporal.api.history.v1.IHistory = await s.t.client.workflow
      .getHandle(handle.workflowId, runId)
      .fetchHistory();
    events.unshift(history.events?.length ?? 0);
    runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  }
  return events;
}

test(`a coordinator that has admitted ${RUNS} runs keeps every run of its history bounded`, async () => {
  const row = {
    section: 'coordinator',
    tried: `one project's coordinator admits ${RUNS} runs, ${CALLERS} callers at once`,
  };
  await section(__filename, row, async () => {
    const worker = await s.worker({ openRunsOf: () => Promise.resolve([]) });
    await worker.runUntil(async () => {
      const projectId = `history-${randomUUID()}`;
      const coordinator = await s.t.client.workflow.start('projectCoordinator', {
        taskQueue: s.t.taskQueue,
        workflowId: coordinatorWorkflowId(projectId),
        args: [{ projectId } satisfies CoordinatorInput],
      });
      let next = 0;
      let busy = 0;
      let transient = 0;
      // A caller refused because the queue is full submits again a moment later, as the refusal tells it to.
      const caller = async () => {
        for (let n = next++; n < RUNS; n = next++) {
          const args = [
            {
              kind: 'rollback',
              workflowId: `run-${n}`,
              input: null,
              ifBusy: 'queue',
              external: { runId: randomUUID() },
            },
          ] as const;
          for (;;) {
            const refused = await retryTransientRefusals(
              () => coordinator.executeUpdate(submitUpdate, { args: [...args] }),
              () => void transient++,
            ).then(
              () => null,
              (e: unknown) => e,
            );
            if (!refused) break;
            expect(String((refused as { cause?: unknown }).cause)).toContain('the most its queue holds');
            busy++;
            await sleep(100);
          }
        }
      };
      await Promise.all(Array.from({ length: CALLERS }, caller));

      const done = await until(
        'every admitted run to have had its turn',
        () => coordinator.query(coordinatorStateQuery),
        (state) => state.active === null && state.queued.length === 0 && state.finished === RUNS,
        { timeoutMs: 3_300_000 },
      );
      expect(done.finished).toBe(RUNS);
      const chain = await chainOf(coordinator);
      const longest = Math.max(...chain);
      // A run continues as new at its first workflow task past the bound; the submissions handled in that task add
      // a few events each.
      const bound = COORDINATOR_LIMITS.maxHistoryEvents + 10 * CALLERS;
      expect(longest).toBeLessThanOrEqual(bound);
      expect(chain.length).toBeGreaterThan(1);
      const total = chain.reduce((sum, n) => sum + n, 0);
      record(__filename, {
        ...row,
        count: RUNS,
        held: `all ${RUNS} admitted and finished; ${chain.length} runs in its chain (${total} events in all), the longest ${longest} events (bound ${bound}); ${busy} submissions refused while the queue was full and submitted again, ${transient} sent again after a transient refusal by the server`,
        ok: true,
      });
      await coordinator.terminate();
    });
  });
  // A bound on a hang, not a timing: on a loaded machine the full suite's admissions take several times as long.
}, 3_600_000);
