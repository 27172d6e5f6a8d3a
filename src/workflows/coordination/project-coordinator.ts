/**
 * One coordinator per project (an entity workflow with a deterministic ID) admits the project's mutating runs one at
 * a time. Callers reach it with update-with-start; the update's validator refuses at once when the project is busy and
 * the caller asked to be refused, which is atomic because a workflow handles its updates one task at a time. Each
 * admitted run is a child workflow of its own (own ID, search attributes, history, cancel button), started at once so
 * the caller can await it, and told by a signal when its turn comes. A run started directly (not through the client)
 * submits itself as an external entry (admission.ts): no child is started, the run is signalled when its turn comes,
 * and its end is awaited by an activity, so a run that is terminated does not hold the project.
 *
 * A coordinator can lose its queue (an operator terminates or resets it) while runs still wait for their turn or hold
 * the project. A coordinator started afresh therefore first recovers the project's open runs (openRunsOf: the run
 * holding the project first, then the queued ones by start time) as external entries, before it admits or starts
 * anything; and a queued run that waited long re-checks that it is listed and is submitted again if not (turn.ts),
 * which this coordinator accepts idempotently also for a run it lists as its child.
 *
 * Its history is kept short: once it is long (or the server suggests it), the coordinator continues as new even while
 * a run holds the project, carrying the admitted runs, which its successor follows as external runs (they are not its
 * children). Its queue is bounded: past the bound a submission is refused as when the project is busy.
 *
 * A promotion tells its coordinator before it fences prod (fences.ts); once that run has ended, however it ended, the
 * coordinator lifts a fence of ours still up on prod before the next run's turn.
 */
import {
  ApplicationFailure,
  ParentClosePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  currentUpdateInfo,
  getExternalWorkflowHandle,
  log,
  setCurrentDetails,
  setHandler,
  startChild,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import { NeonPhase, NeonProjectId } from '../../temporal/search-attributes';
import {
  coordinatorStateQuery,
  submitUpdate,
  turnSignal,
  type CoordinatorState,
  type RunKind,
  type SubmitRequest,
  type SubmitResult,
} from '../contract/definitions';
import type { OpenRun } from '../../activities/contract';
import { externalRuns, recovery } from '../runtime/activity-options';
import { fenceNoticeOf, fenceSignal, liftFenceLeftBy, type FenceNotice } from './fences';
import { janitor } from '../environments/janitor';
import { promote } from '../promote/promote';
import { refreshDev } from '../environments/refresh';
import { rollback } from '../environments/rollback';
import { setupEnvironments } from '../environments/setup';

const RUNS = { setup: setupEnvironments, promote, refresh: refreshDev, rollback, janitor } as const;
const KINDS = Object.keys(RUNS) as RunKind[];

export type CoordinatorLimits = {
  /** Continue-as-new past this many events; each run adds about ten here, each refused submission none. */
  maxHistoryEvents: number;
  /** Admitted runs not yet finished, the one holding the project among them; past it submissions are refused. */
  maxQueuedRuns: number;
};

export const COORDINATOR_LIMITS: CoordinatorLimits = { maxHistoryEvents: 2000, maxQueuedRuns: 100 };

/**
 * How many answered submissions a coordinator remembers by update ID, carried across continue-as-new. The server can
 * deliver a submission that a predecessor admitted and answered to its successor again, under the same update ID
 * (seen seconds after the continue-as-new, with the caller's request still open); by then the run may have finished
 * and left the queue, and admitting it again would start it a second time. A run continues as new after about 2,000
 * events, at most a few hundred admitted submissions: this covers the predecessor's.
 */
const ANSWERED_KEPT = 500;

/** A submission's answer (the position it was admitted at), by the update ID it came with. */
export type AnsweredSubmission = { updateId: string; position: number };

/** An admitted run carried across continue-as-new; without runId its start had failed (see the main loop). */
export type CarriedRun = { workflowId: string; runId?: string; recovered?: true; fence?: FenceNotice };

export type CoordinatorInput = {
  projectId: string;
  finished?: number;
  /** The admitted runs not yet finished, the one holding the project first, from the predecessor. */
  queue?: CarriedRun[];
  /** Lower limits than COORDINATOR_LIMITS (tests use them to reach the limits quickly); carried across continue-as-new. */
  limits?: Partial<CoordinatorLimits>;
  /** The predecessor's latest answered submissions (ANSWERED_KEPT). */
  answered?: AnsweredSubmission[];
};

type AnyRun = (input: unknown) => Promise<unknown>;
type Entry = {
  workflowId: string;
  started: Promise<ChildWorkflowHandle<AnyRun> | null>;
  /** A run started directly that submitted itself: signalled and awaited, not started. */
  external?: { runId: string };
  /** A child's run ID, once started: a re-admission of the child is this entry. */
  runId?: string;
  /** Found open by a recovery (fresh start, re-admission, failed start) rather than submitted to this coordinator. */
  recovered?: true;
  /** The run fences prod: once it has ended, a fence of ours still up there is lifted. */
  fence?: FenceNotice;
};

/**
 * Whether a run's result shows it promoted and lifted its fence itself: the lift after the swap is the run's last
 * touch of prod's fence (no rollback follows a promotion), so prod is left unfenced.
 */
function liftedItsFence(result: unknown): boolean {
  const r = result as { outcome?: unknown; writes?: { fence?: { liftedAt?: unknown } | null } | null } | null;
  return r?.outcome === 'promoted' && typeof r.writes?.fence?.liftedAt === 'string';
}

export async function projectCoordinator(input: CoordinatorInput): Promise<void> {
  const { projectId } = input;
  let finished = input.finished ?? 0;
  const limits = limitsOf(input.limits);
  const queue: Entry[] = (input.queue ?? []).map(entryOf);
  const answered = new Map((input.answered ?? []).map(({ updateId, position }) => [updateId, position]));
  /** The position a submission was admitted at, when this coordinator or a predecessor answered its update before. */
  const answeredBefore = (updateId: string | undefined): number | undefined =>
    updateId === undefined ? undefined : answered.get(updateId);
  const remember = (updateId: string | undefined, answer: SubmitResult): SubmitResult => {
    if (updateId === undefined) return answer;
    answered.set(updateId, answer.position);
    for (const oldest of answered.keys()) {
      if (answered.size <= ANSWERED_KEPT) break;
      answered.delete(oldest);
    }
    return answer;
  };
  const state = (): CoordinatorState => ({
    projectId,
    active: queue[0]?.workflowId ?? null,
    queued: queue.slice(1).map((entry) => entry.workflowId),
    finished,
  });
  // Started afresh (not continued as new from an idle predecessor): runs of a lost predecessor may still be open.
  let recovering = !workflowInfo().continuedFromExecutionRunId;
  /**
   * Whether history has grown past its bound, as of the last event this coordinator handled that history records (its
   * start, an admitted submission, a fence notice, a run's end). Never read afresh in a condition: a workflow task in
   * which the validator only rejected submissions is dropped from history, so a continue-as-new decided there on the
   * length it saw would not be decided again on replay.
   */
  let historyIsLong = false;
  const noteHistoryLength = (): void => {
    historyIsLong ||= workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > limits.maxHistoryEvents;
  };
  noteHistoryLength();
  setHandler(coordinatorStateQuery, state);
  /** The Temporal UI's current details: what this workflow is (it is always Running), and its queue now. */
  const showState = (): void => setCurrentDetails(coordinatorDetails(state()));
  showState();
  setHandler(
    submitUpdate,
    async (req: SubmitRequest) => {
      noteHistoryLength();
      const updateId = currentUpdateInfo()?.id;
      const position = answeredBefore(updateId);
      if (position !== undefined) return { workflowId: req.workflowId, position };
      return remember(updateId, await admit(req));
    },
    {
      validator: (req: SubmitRequest) => {
        const problem = submitProblemOf(req);
        if (problem) throw ApplicationFailure.create({ type: 'InvalidInput', message: `invalid input: ${problem}` });
        // Answered before: the handler gives the same answer, whatever the queue holds now.
        if (answeredBefore(currentUpdateInfo()?.id) !== undefined) return;
        // Recovering: the queue is not complete yet; the handler decides once it is.
        if (recovering) return;
        const listed = queue.find((entry) => entry.workflowId === req.workflowId);
        if (listed && isSameRun(listed, req)) return;
        if (listed) throw alreadySubmitted(req.workflowId);
        if (req.ifBusy === 'refuse' && queue.length > 0) throw busy(projectId, state());
        if (queue.length >= limits.maxQueuedRuns) throw queueFull(projectId, state(), limits.maxQueuedRuns);
      },
    },
  );

  /** Admits a submission: queues it (and starts its run unless it is external), or answers for it already queued. */
  async function admit(req: SubmitRequest): Promise<SubmitResult> {
    // Admitted only once the recovered runs are queued: they came first. The validator could not check then.
    if (recovering) await condition(() => !recovering);
    const listed = queue.findIndex((entry) => isSameRun(entry, req));
    if (listed >= 0) {
      // Recovered while it was asking to be refused if busy: it asked before it was found, so it is refused now.
      if (req.ifBusy === 'refuse' && listed > 0 && queue[listed]?.recovered) {
        queue.splice(listed, 1);
        throw busy(projectId, state());
      }
      // A retried admission, or a re-admission, of the same execution: already queued.
      return { workflowId: req.workflowId, position: listed };
    }
    // A queued run this coordinator does not list: it lost its queue (reset), so other open runs, the one holding
    // the project among them, may be unknown to it too. They are queued first, the asking run in its place among
    // them.
    if (req.readmit && req.external) {
      await recoverOpenRuns();
      const found = queue.findIndex((entry) => isSameRun(entry, req));
      if (found >= 0) return { workflowId: req.workflowId, position: found };
    }
    if (queue.some((entry) => entry.workflowId === req.workflowId)) throw alreadySubmitted(req.workflowId);
    if (req.ifBusy === 'refuse' && queue.length > 0) throw busy(projectId, state());
    if (queue.length >= limits.maxQueuedRuns) throw queueFull(projectId, state(), limits.maxQueuedRuns);
    const position = queue.length;
    if (req.external) {
      queue.push({ workflowId: req.workflowId, started: Promise.resolve(null), external: req.external });
      showState();
      return { workflowId: req.workflowId, position };
    }
    const started = startRun(projectId, req);
    // Queued before the start resolves, so the next update's validator already sees this run.
    const entry: Entry = { workflowId: req.workflowId, started: started.catch(() => null) };
    queue.push(entry);
    showState();
    entry.runId = (await started).firstExecutionRunId;
    return { workflowId: req.workflowId, position };
  }

  setHandler(fenceSignal, async (raw: FenceNotice) => {
    noteHistoryLength();
    const notice = fenceNoticeOf(raw);
    if (!notice) return log.warn('ignored a fence notice that is not one', { projectId });
    // The run may be among those being recovered.
    if (recovering) await condition(() => !recovering);
    const entry = queue.find((listed) => listed.workflowId === notice.workflowId);
    if (entry) entry.fence = notice;
  });

  /** Queues the project's open runs this coordinator does not list, as external entries (see openRunsOf). */
  async function openRuns(): Promise<OpenRun[]> {
    try {
      return await recovery.openRunsOf({ projectId });
    } catch (err) {
      log.warn('could not list the open runs of the project', { projectId, error: String(err) });
      return [];
    }
  }

  /**
   * Queues the project's open runs this coordinator does not list, as external entries (see openRunsOf). They were
   * open before anything submitted while they were looked up, so they go before those submissions.
   */
  async function recoverOpenRuns(): Promise<void> {
    const known = new Set(queue);
    const runs = await openRuns();
    const recovered: Entry[] = runs
      .filter((run) => !queue.some((entry) => entry.workflowId === run.workflowId))
      .map((run) => ({
        workflowId: run.workflowId,
        started: Promise.resolve(null),
        external: { runId: run.runId },
        recovered: true,
      }));
    const newer = queue.findIndex((entry) => !known.has(entry));
    queue.splice(newer < 0 ? queue.length : newer, 0, ...recovered);
  }

  if (recovering) {
    await recoverOpenRuns();
    recovering = false;
    showState();
  }

  /** Continues as new with the admitted runs, once the submissions being handled are done (their runs are queued). */
  async function continueWithQueue(): Promise<never> {
    await condition(allHandlersFinished);
    return continueAsNew<typeof projectCoordinator>({
      projectId,
      finished,
      ...(queue.length ? { queue: queue.map(carriedOf) } : {}),
      ...(input.limits ? { limits: input.limits } : {}),
      ...(answered.size ? { answered: [...answered].map(([updateId, position]) => ({ updateId, position })) } : {}),
    });
  }

  /** Grants the run at the head of the queue its turn and waits until it has ended. */
  async function turnOf(entry: Entry): Promise<void> {
    const handle = await entry.started;
    if (!entry.external && !handle) {
      // Not started: a run with this ID may be open already, e.g. this coordinator was reset and re-ran the
      // submission of a run it had started before. An open run of the project with this ID is the submitted run: it
      // holds the project or waits for its turn, so it is followed in this entry's place rather than forgotten.
      const open = (await openRuns()).find((run) => run.workflowId === entry.workflowId);
      if (open) {
        entry.external = { runId: open.runId };
        entry.recovered = true;
      }
    }
    if (entry.external) await followExternal(entry.workflowId, entry.external.runId);
    else if (handle) {
      try {
        await handle.signal(turnSignal);
        // A promotion that reports its fence lifted after the swap left none: nothing to look for at Neon.
        if (liftedItsFence(await handle.result())) entry.fence = undefined;
      } catch (err) {
        // Failed, cancelled, terminated or timed out: the run's own history tells why; the next run may go.
        log.info('run ended without success', { workflowId: entry.workflowId, error: String(err) });
      }
    }
    if (entry.fence) await liftFenceLeftBy(projectId, entry.fence);
  }

  for (;;) {
    await condition(() => queue.length > 0 || historyIsLong);
    // Idle, or a run holds the project: a fresh run carries the queue and the count, so history stays small however
    // many runs the project has had, and however long one of them holds it.
    if (historyIsLong) await continueWithQueue();
    const entry = queue[0]!;
    let ended = false;
    void turnOf(entry).then(() => {
      ended = true;
      noteHistoryLength();
    });
    await condition(() => ended || historyIsLong);
    // The run still holds the project: the successor grants its turn again (a second grant changes nothing) and
    // waits for it.
    if (!ended) await continueWithQueue();
    queue.shift();
    finished++;
    showState();
  }
}

/** What the coordinator is, and who holds the project and waits now (Temporal markdown). */
function coordinatorDetails(state: CoordinatorState): string {
  const waiting = state.queued.length
    ? `${state.queued.length} waiting: ${state.queued.slice(0, 10).join(', ')}${state.queued.length > 10 ? ', ...' : ''}`
    : 'none waiting';
  return [
    `**Coordinator of project ${state.projectId}**: not a promotion. It admits the project's changing runs one at a`,
    'time and runs as long as the project is managed, so it always shows as Running.',
    '',
    state.active ? `Holding the project: **${state.active}**; ${waiting}.` : 'Idle: no run holds the project.',
    `Runs finished since it started: ${state.finished}.`,
  ].join('\n');
}

/** The limits of the input, never above COORDINATOR_LIMITS (anyone who can start a workflow can set them). */
function limitsOf(given: Partial<CoordinatorLimits> = {}): CoordinatorLimits {
  const bound = (value: unknown, most: number, least: number) =>
    typeof value === 'number' && Number.isInteger(value) ? Math.min(most, Math.max(least, value)) : most;
  return {
    maxHistoryEvents: bound(given.maxHistoryEvents, COORDINATOR_LIMITS.maxHistoryEvents, 100),
    maxQueuedRuns: bound(given.maxQueuedRuns, COORDINATOR_LIMITS.maxQueuedRuns, 1),
  };
}

/** A carried run is followed as an external run: it is no child of this coordinator's run. */
function entryOf(run: CarriedRun): Entry {
  return {
    workflowId: run.workflowId,
    started: Promise.resolve(null),
    ...(run.runId ? { external: { runId: run.runId } } : {}),
    ...(run.recovered ? { recovered: true as const } : {}),
    ...(run.fence ? { fence: run.fence } : {}),
  };
}

function carriedOf(entry: Entry): CarriedRun {
  const runId = entry.external?.runId ?? entry.runId;
  return {
    workflowId: entry.workflowId,
    ...(runId ? { runId } : {}),
    ...(entry.recovered ? { recovered: true } : {}),
    ...(entry.fence ? { fence: entry.fence } : {}),
  };
}

/** A Temporal run ID: a UUID. */
const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The longest run summary a submission may carry: one line in the Temporal UI, kept in the run's history. */
const MAX_SUMMARY_LENGTH = 1000;

/**
 * What is wrong with a submission, or null. Anyone with access to the namespace can send one with a raw client: the
 * validator refuses what the handler could not act on, since a handler that throws fails the workflow task and stalls
 * the project's queue. `input` is the run's, which validates it itself.
 */
function submitProblemOf(req: unknown): string | null {
  if (typeof req !== 'object' || req === null || Array.isArray(req)) return '(request): expected a submission';
  const { kind, workflowId, ifBusy, summary, external, readmit } = req as Record<string, unknown>;
  if (typeof kind !== 'string' || !KINDS.includes(kind as RunKind)) return `kind: one of ${KINDS.join(', ')}`;
  if (typeof workflowId !== 'string' || workflowId.length === 0 || workflowId.length > 200)
    return 'workflowId: 1-200 characters';
  if (ifBusy !== undefined && ifBusy !== 'queue' && ifBusy !== 'refuse') return "ifBusy: 'queue' or 'refuse'";
  if (summary !== undefined && (typeof summary !== 'string' || summary.length > MAX_SUMMARY_LENGTH))
    return `summary: text of at most ${MAX_SUMMARY_LENGTH} characters`;
  const runId = (external as { runId?: unknown } | null | undefined)?.runId;
  // The server refuses to signal a run ID that is no UUID: the coordinator's turn signal would fail its task forever.
  if (external !== undefined && (typeof runId !== 'string' || !RUN_ID.test(runId)))
    return 'external.runId: the run ID of the run asking to be admitted';
  if (readmit !== undefined && typeof readmit !== 'boolean') return 'readmit: true or false';
  return null;
}

/** The entry is the execution asking: the same external run, or a child of this coordinator asking again. */
const isSameRun = (entry: Entry, req: SubmitRequest): boolean =>
  entry.workflowId === req.workflowId &&
  req.external !== undefined &&
  (entry.external?.runId ?? entry.runId) === req.external.runId;

const alreadySubmitted = (workflowId: string) =>
  ApplicationFailure.create({ type: 'AlreadySubmitted', message: `run ${workflowId} is already admitted` });

/** A refusal like busy(): the caller may submit again once the queue has room. */
function queueFull(projectId: string, state: CoordinatorState, most: number): ApplicationFailure {
  return ApplicationFailure.create({
    type: 'ProjectBusy',
    message: `project ${projectId} is busy: ${state.active} is running and ${state.queued.length} run(s) wait, the most its queue holds (${most} runs at a time); submit again once runs have finished`,
    details: [state],
  });
}

function busy(projectId: string, state: CoordinatorState): ApplicationFailure {
  return ApplicationFailure.create({
    type: 'ProjectBusy',
    message: `project ${projectId} is busy: ${state.active} is running${state.queued.length ? ` and ${state.queued.length} run(s) wait` : ''}`,
    details: [state],
  });
}

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
