/**
 * One coordinator per project (an entity workflow with a deterministic ID) admits the project's mutating runs one at
 * a time. Callers reach it with update-with-start; the update's validator refuses at once when the project is busy and
 * the caller asked to be refused, which is atomic because a workflow handles its updates one task at a time. Each
 * admitted run is a child workflow of its own (own ID, search attributes, history, cancel button), started at once so
 * the caller can await it, and told by a signal when its turn comes.
 */
import {
  ApplicationFailure,
  ParentClosePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  setHandler,
  startChild,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import { NeonPhase, NeonProjectId } from '../temporal/search-attributes';
import {
  coordinatorStateQuery,
  submitUpdate,
  turnSignal,
  type CoordinatorState,
  type RunKind,
  type SubmitRequest,
} from './definitions';
import { janitor } from './janitor';
import { promote } from './promote';
import { refreshDev } from './refresh-dev';
import { rollback } from './rollback';
import { setupEnvironments } from './setup-environments';

const RUNS = { setup: setupEnvironments, promote, refresh: refreshDev, rollback, janitor } as const;
const KINDS = Object.keys(RUNS) as RunKind[];
/** Continue-as-new (when idle) before history grows large; each run adds about ten events here. */
const MAX_HISTORY_EVENTS = 2000;

export type CoordinatorInput = { projectId: string; finished?: number };

type AnyRun = (input: unknown) => Promise<unknown>;
type Entry = { workflowId: string; started: Promise<ChildWorkflowHandle<AnyRun> | null> };

export async function projectCoordinator({ projectId, finished = 0 }: CoordinatorInput): Promise<void> {
  const queue: Entry[] = [];
  const state = (): CoordinatorState => ({
    projectId,
    active: queue[0]?.workflowId ?? null,
    queued: queue.slice(1).map((e) => e.workflowId),
    finished,
  });
  setHandler(coordinatorStateQuery, state);
  setHandler(
    submitUpdate,
    async (req: SubmitRequest) => {
      const position = queue.length;
      const started = startRun(projectId, req);
      // Queued before the start resolves, so the next update's validator already sees this run.
      queue.push({ workflowId: req.workflowId, started: started.catch(() => null) });
      await started;
      return { workflowId: req.workflowId, position };
    },
    {
      validator: (req: SubmitRequest) => {
        if (!req || !KINDS.includes(req.kind))
          throw ApplicationFailure.create({
            type: 'InvalidInput',
            message: `invalid input: kind: one of ${KINDS.join(', ')}`,
          });
        if (typeof req.workflowId !== 'string' || req.workflowId.length === 0 || req.workflowId.length > 200)
          throw ApplicationFailure.create({
            type: 'InvalidInput',
            message: 'invalid input: workflowId: 1-200 characters',
          });
        if (queue.some((e) => e.workflowId === req.workflowId))
          throw ApplicationFailure.create({
            type: 'AlreadySubmitted',
            message: `run ${req.workflowId} is already admitted`,
          });
        if (req.ifBusy === 'refuse' && queue.length > 0) {
          const s = state();
          throw ApplicationFailure.create({
            type: 'ProjectBusy',
            message: `project ${projectId} is busy: ${s.active} is running${s.queued.length ? ` and ${s.queued.length} run(s) wait` : ''}`,
            details: [s],
          });
        }
      },
    },
  );

  for (;;) {
    await condition(() => queue.length > 0 || workflowInfo().historyLength > MAX_HISTORY_EVENTS);
    const entry = queue[0];
    if (!entry) {
      // Idle: a fresh run carries only the count, so history stays small however many runs the project has had.
      await condition(allHandlersFinished);
      if (queue.length === 0) await continueAsNew<typeof projectCoordinator>({ projectId, finished });
      continue;
    }
    const handle = await entry.started;
    if (handle) {
      try {
        await handle.signal(turnSignal);
        await handle.result();
      } catch (err) {
        // Failed, cancelled, terminated or timed out: the run's own history tells why; the next run may go.
        log.info('run ended without success', { workflowId: entry.workflowId, error: String(err) });
      }
    }
    queue.shift();
    finished++;
  }
}

function startRun(projectId: string, req: SubmitRequest): Promise<ChildWorkflowHandle<AnyRun>> {
  return startChild(RUNS[req.kind] as AnyRun, {
    workflowId: req.workflowId,
    args: [req.input],
    // The run must finish its saga even if this coordinator is terminated or continues as new.
    parentClosePolicy: ParentClosePolicy.ABANDON,
    typedSearchAttributes: [
      { key: NeonProjectId, value: projectId },
      { key: NeonPhase, value: 'queued' },
    ],
    ...(req.summary ? { staticSummary: req.summary } : {}),
  });
}
