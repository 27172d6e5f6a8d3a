/**
 * One coordinator per project (an entity workflow with a deterministic ID) admits the project's mutating runs one at
 * a time. Callers reach it with update-with-start; the update's validator refuses at once when the project is busy and
 * the caller asked to be refused, which is atomic because a workflow handles its updates one task at a time. Each
 * admitted run is a child workflow of its own (own ID, search attributes, history, cancel button), started at once so
 * the caller can await it, and told by a signal when its turn comes. A run started directly (not through the client)
 * submits itself as an external entry (src/workflows/admission.ts): no child is started, the run is signalled when its
 * turn comes, and its end is awaited by an activity, so a run that is terminated does not hold the project.
 */
import {
  ApplicationFailure,
  ParentClosePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
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
import { externalRuns } from './admission';
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
type Entry = {
  workflowId: string;
  started: Promise<ChildWorkflowHandle<AnyRun> | null>;
  /** A run started directly that submitted itself: signalled and awaited, not started. */
  external?: { runId: string };
};

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
      const listed = queue.findIndex((e) => isSameExternal(e, req));
      // A retried admission of the same execution: already queued.
      if (listed >= 0) return { workflowId: req.workflowId, position: listed };
      const position = queue.length;
      if (req.external) {
        queue.push({ workflowId: req.workflowId, started: Promise.resolve(null), external: req.external });
        return { workflowId: req.workflowId, position };
      }
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
        if (req.external !== undefined && typeof req.external?.runId !== 'string')
          throw ApplicationFailure.create({
            type: 'InvalidInput',
            message: 'invalid input: external.runId: the run ID of the run asking to be admitted',
          });
        const listed = queue.find((e) => e.workflowId === req.workflowId);
        if (listed && isSameExternal(listed, req)) return;
        if (listed)
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
    if (entry.external) await followExternal(entry.workflowId, entry.external.runId);
    else if (handle) {
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

const isSameExternal = (e: Entry, req: SubmitRequest): boolean =>
  e.workflowId === req.workflowId && e.external !== undefined && e.external.runId === req.external?.runId;

/** Grants a directly started run its turn and waits until it has closed, however it closed. */
async function followExternal(workflowId: string, runId: string): Promise<void> {
  try {
    await getExternalWorkflowHandle(workflowId, runId).signal(turnSignal);
  } catch (err) {
    // Closed before its turn (cancelled or terminated while it waited): nothing to wait for.
    log.info('external run ended before its turn', { workflowId, error: String(err) });
    return;
  }
  try {
    await externalRuns.awaitExternalRun({ workflowId, runId });
  } catch (err) {
    log.warn('could not await the external run; the next run may go', { workflowId, error: String(err) });
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
