import { AsyncLocalStorage } from 'node:async_hooks';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { type CallOptions, type NeonClient, OPERATION_DONE, OPERATION_FAILED } from '../../neon';
import { forgetConnectionUris } from '../database/connect';
import { type ActivityDeps, type Clock, systemClock } from '../deps';
import { activity, callOptions, currentContext, failure, toFailure } from '../failures';
import { neonId } from '../inputs';
import { toOperationSummary } from './mappers';
import { SENDS_AFTER_FAILED_OPERATION } from '../../shared/failure-types';
import type { NeonActivities, OperationSummary } from '../contract';

/**
 * IDs of the project's unfinished operations that concern these branches or endpoints. An idempotent path that finds
 * an earlier attempt's work returns them, so the workflow waits for what that attempt started (its response, with the
 * operation IDs, may have been lost) before relying on the new state. One GET /operations.
 */
export async function pendingOperationIds(
  neon: NeonClient,
  projectId: string,
  of: { branchIds?: (string | null | undefined)[]; endpointIds?: (string | null | undefined)[] },
  call: CallOptions,
): Promise<string[]> {
  const branches = new Set(of.branchIds?.filter(Boolean));
  const endpoints = new Set(of.endpointIds?.filter(Boolean));
  return (await neon.listOperations(projectId, {}, call))
    .filter((op) => !OPERATION_DONE.has(op.status) && !OPERATION_FAILED.has(op.status))
    .filter((op) => (op.branch_id && branches.has(op.branch_id)) || (op.endpoint_id && endpoints.has(op.endpoint_id)))
    .map((op) => op.id)
    .reverse(); // oldest first, the order they were started in
}

/** What a heartbeat carries, so a retried attempt does not poll again what already finished. */
type Progress = { done: OperationSummary[]; polls: number };

const FIRST_INTERVAL_MS = 100;
const GROWTH = 1.5;

/**
 * Polls until every operation is terminal, heartbeating after each round (cancellation reaches it; a retry of
 * waitForOperations resumes from the details). The first round comes after `firstDelayMs`, the next ones
 * `firstIntervalMs` (default 100 ms) later, growing by half up to `maxPollIntervalMs`. Sequential on purpose: a
 * restore returns a handful of operations and the rate budget is shared. `roundsSentAt`: the clock's time as each
 * round of this call began.
 */
async function pollUntilDone(
  neon: NeonClient,
  clock: Clock,
  projectId: string,
  operationIds: string[],
  options: {
    firstDelayMs: number;
    maxPollIntervalMs: number;
    firstIntervalMs?: number;
    resumed?: Progress;
    /** Several pending operations are looked up in one page of the project's operations. */
    listSeveral?: boolean;
    /** Heartbeats in place of this wait's own progress (a part's activity, see asPart). */
    heartbeat?: () => void;
  },
  call: CallOptions,
): Promise<{ operations: OperationSummary[]; polls: number; roundsSentAt: number[] }> {
  const ctx = currentContext();
  const done = new Map((options.resumed?.done ?? []).map((op) => [op.id, op]));
  let polls = options.resumed?.polls ?? 0;
  const roundsSentAt: number[] = [];
  let pending = [...new Set(operationIds)].filter((id) => !done.has(id));
  let interval = options.firstIntervalMs ?? FIRST_INTERVAL_MS;
  if (pending.length > 0 && options.firstDelayMs > 0) await clock.sleep(options.firstDelayMs, call.signal);
  while (pending.length > 0) {
    roundsSentAt.push(clock.now());
    // Several operations (a restore, a branch delete): one page of the project's newest operations answers for all of
    // them, one call instead of one each; one missing from it is asked for by ID.
    const listed =
      options.listSeveral && pending.length > 1
        ? new Map((await neon.listOperations(projectId, {}, call)).map((op) => [op.id, op]))
        : null;
    for (const id of pending) {
      const op = listed?.get(id) ?? (await neon.getOperation(projectId, id, call));
      if (OPERATION_FAILED.has(op.status)) {
        const message = `operation ${op.id} (${op.action}) ${op.status}${op.error ? `: ${op.error}` : ''}`;
        throw failure('OperationFailed', message, { operationId: op.id });
      }
      if (OPERATION_DONE.has(op.status)) done.set(op.id, toOperationSummary(op));
    }
    polls++;
    pending = pending.filter((id) => !done.has(id));
    if (options.heartbeat) options.heartbeat();
    else ctx?.heartbeat({ done: [...done.values()], polls } satisfies Progress);
    if (pending.length === 0) break;
    await clock.sleep(interval, call.signal);
    interval = Math.min(options.maxPollIntervalMs, Math.round(interval * GROWTH));
  }
  const operations = operationIds.map((id) => done.get(id)).filter((op) => op !== undefined);
  return { operations, polls, roundsSentAt };
}

/** How many of a kind's latest waits its estimate looks back over. */
const SETTLE_WINDOW = 10;
/** How much later than the second longest of them the first poll comes: room for the durations' jitter. */
const MARGIN = 0.05;
/** The first wait of the process, before any kind is timed: Neon's operations are rarely done sooner. */
const FIRST_GUESS_MS = 100;

type Timing = {
  /** When the operations of each of the kind's latest waits ended, in ms after the mutation answered, oldest first. */
  ends: number[];
  /** The part of a wait that Neon's reported duration leaves out (see SettleTimes). */
  gapMs?: number;
};

/**
 * How long each kind of mutation's operations run, learned in this process, so that a mutation waiting for its own
 * operations polls first once they are most likely done instead of at once: on Neon's emulator and on Neon a poll
 * sent right after the mutation finds the operation running, and each such poll is an API call (and per-route budget)
 * spent for nothing.
 *
 * The first poll comes at the second longest of the kind's last SETTLE_WINDOW waits (when their operations ended,
 * after the mutation answered) plus MARGIN, capped: about their 90th percentile, so that a first poll rarely finds
 * work running; one slow outlier does not count, two (operations that got slower) do. A wait's end is taken as the
 * duration Neon reports (`total_duration_ms`, the longest of the operations) plus the kind's gap: the part of the
 * wait Neon's figure leaves out (the time before an operation starts running and, with several, those before it),
 * steadier than the durations themselves. The gap is kept while the polls agree with it:
 * - a first poll that finds work running: the work ended after the last poll that found it running and by the one
 *   that found it done (a tenth of the estimate apart at first); a gap that puts the end outside that, or none yet,
 *   is replaced by one that puts it halfway.
 * - a first poll that finds work done: the work ended by then, so a gap that puts the end later is lowered to fit,
 *   the end to no less than 0 (the answer: the gap is negative where an operation ran before the mutation answered).
 *   A kind that has not come early yet has no gap, and its end is taken halfway between Neon's figure and the first
 *   poll, at most that poll: an estimate far too long comes down (to the second of those halvings, then further as
 *   the window moves on), and one too short costs an early poll, which sets the gap.
 * So with steady durations a wait ends within about MARGIN plus their jitter after the work. A kind not timed yet
 * starts from the median of the estimates of those that are, its polls after the first a quarter of that apart and
 * growing (the guess may be far off); the process's first kind starts from FIRST_GUESS_MS.
 */
export class SettleTimes {
  private readonly kinds = new Map<string, Timing>();
  constructor(private readonly capMs = 5_000) {}

  /** Whether a wait of this kind has been timed in this process (its first delay is learned, not a guess). */
  timed(kind: string): boolean {
    return this.kinds.has(kind);
  }

  firstDelayMs(kind: string): number {
    const ends = this.kinds.get(kind)?.ends;
    if (ends) {
      const secondLongest = [...ends].sort((a, b) => b - a)[Math.min(1, ends.length - 1)]!;
      return Math.min(this.capMs, Math.round(secondLongest * (1 + MARGIN)));
    }
    const known = [...this.kinds.keys()].map((k) => this.firstDelayMs(k)).sort((a, b) => a - b);
    return known.length ? known[Math.floor((known.length - 1) / 2)]! : FIRST_GUESS_MS;
  }

  /**
   * `roundsAtMs`: when (after the mutation answered) each round of polls was sent, the last one finding every
   * operation done; `reportedMs`: the longest `total_duration_ms` Neon reported for the operations (0 if none).
   */
  record(kind: string, roundsAtMs: number[], reportedMs: number): void {
    const timing = this.kinds.get(kind) ?? { ends: [] };
    const first = roundsAtMs[0]!;
    const withGap = timing.gapMs === undefined ? undefined : reportedMs + timing.gapMs;
    let end: number;
    if (roundsAtMs.length > 1) {
      const [running, doneBy] = roundsAtMs.slice(-2) as [number, number];
      const agrees = withGap !== undefined && withGap > running && withGap <= doneBy;
      end = agrees ? withGap : (running + doneBy) / 2;
      timing.gapMs = end - reportedMs;
    } else if (withGap !== undefined) {
      // Not below 0: a negative gap can put the end before the answer, and a delay below 0 is none.
      end = Math.max(0, Math.min(withGap, first));
      timing.gapMs = end - reportedMs;
    } else {
      // Not after `first`: Neon's figure can be longer than the time since the answer (the work began before it).
      end = Math.min(first, (reportedMs + first) / 2);
    }
    timing.ends = [...timing.ends, Math.round(end)].slice(-SETTLE_WINDOW);
    this.kinds.set(kind, timing);
  }
}

/** One estimate per worker process: every workflow's mutations of a kind run against the same Neon. */
const processSettleTimes = new SettleTimes();

/**
 * Mutations that may be sent again after one of their operations failed: a failed delete leaves the resource in place,
 * and a delete of what is gone is done. Their OperationFailed is retryable, so the caller's retry policy decides
 * whether to send them again (the workflows' `cleanup` option set does, src/workflows/runtime/activity-options.ts),
 * up to SENDS_AFTER_FAILED_OPERATION attempts (for a Part, its own sends that met a failed operation): an operation
 * that keeps failing is Neon's answer, not a passing fault, and a run must not hold its project's turn on it forever
 * (the janitor deletes what is left later).
 */
export { SENDS_AFTER_FAILED_OPERATION };

/**
 * A mutation run as one part of a larger activity (cleanUpSwap) rather than as an activity of its own. The activity's
 * attempt number counts every failed attempt, whichever part failed and why, so the part brings its own count of sends
 * that met a failed operation; and its waits heartbeat the activity's progress, which their own would overwrite.
 */
export type Part = {
  /** This part's earlier sends whose operation failed: this send is the next. */
  failedOperationSends: number;
  heartbeat: () => void;
};

const parts = new AsyncLocalStorage<Part>();

/** Runs `fn`, which calls a settling mutation, as `part`. */
export function asPart<T>(part: Part, fn: () => Promise<T>): Promise<T> {
  return parts.run(part, fn);
}

const SENT_AGAIN_AFTER_FAILED_OPERATION: ReadonlySet<string> = new Set([
  'deleteSnapshot',
  'deleteBranch',
  'deleteEndpoint',
]);

/** Mutations after which a kept connection string may reach another branch or none (see branchConnectionUri). */
const MOVES_ENDPOINTS: ReadonlySet<string> = new Set([
  'finalizeRestore',
  'resetBranch',
  'deleteEndpoint',
  'deleteBranch',
]);

function forgetsConnectionUris(kind: string, input: object): boolean {
  return (
    MOVES_ENDPOINTS.has(kind) || (kind === 'restoreSnapshot' && (input as { finalize?: boolean }).finalize === true)
  );
}

/**
 * Wraps a mutation activity so that it waits for the operations it started (or found still running from an earlier
 * attempt) before it returns: whoever acts on its result finds the new state, and a workflow needs no separate
 * waitForOperations activity per mutation, one Temporal round trip less each. An operation that ends failed or
 * cancelled (OPERATION_FAILED) fails the mutation with OperationFailed.
 */
export function settling<I extends { projectId: string }, R extends { operationIds: string[] }>(
  kind: string,
  fn: (input: I) => Promise<R>,
  { neon, clock = systemClock }: Pick<ActivityDeps, 'neon' | 'clock'>,
  times: SettleTimes = processSettleTimes,
): (input: I) => Promise<R> {
  return async (input) => {
    const forgets = forgetsConnectionUris(kind, input);
    if (forgets) forgetConnectionUris(neon, input.projectId);
    let result: R;
    try {
      result = await fn(input);
    } finally {
      // Also after: a session opened meanwhile may have fetched a string of the state before.
      if (forgets) forgetConnectionUris(neon, input.projectId);
    }
    if (result.operationIds.length === 0) return result;
    const part = parts.getStore();
    const answeredAt = clock.now();
    const firstDelayMs = times.firstDelayMs(kind);
    const call = callOptions();
    try {
      // Polls after the first come soon (a tenth of the estimate apart, growing), so that a miss costs little time and
      // tells closely when the work ended; a quarter of a guess apart, as a guess may be far off.
      const firstIntervalMs = Math.max(10, Math.round(firstDelayMs / (times.timed(kind) ? 10 : 4)));
      const options = {
        firstDelayMs,
        firstIntervalMs,
        maxPollIntervalMs: 2000,
        listSeveral: true,
        heartbeat: part?.heartbeat,
      };
      const { roundsSentAt, operations } = await pollUntilDone(
        neon,
        clock,
        input.projectId,
        result.operationIds,
        options,
        call,
      );
      const reportedMs = Math.max(0, ...operations.map((op) => op.totalDurationMs ?? 0));
      times.record(
        kind,
        roundsSentAt.map((at) => at - answeredAt),
        reportedMs,
      );
    } catch (err) {
      const attempt = currentContext()?.info.attempt ?? 1;
      const failed = toFailure(err, attempt);
      if (!(failed instanceof ApplicationFailure) || failed.type !== 'OperationFailed') throw failed;
      const send = part ? part.failedOperationSends + 1 : attempt;
      if (!SENT_AGAIN_AFTER_FAILED_OPERATION.has(kind) || send >= SENDS_AFTER_FAILED_OPERATION) throw failed;
      const { message, type, details } = failed;
      throw ApplicationFailure.create({ message, type, details: details ?? [], nonRetryable: false });
    }
    return result;
  };
}

/**
 * One activity that waits for Neon operations, instead of a polling loop in workflow history. It checks at once, then
 * after 100 ms, growing by half each time up to `maxPollIntervalMs`, heartbeating after every round so that
 * cancellation reaches it and a retry resumes from the heartbeat details. The mutations wait for their own
 * operations (settling): this is for a caller that holds operation IDs of its own.
 */
export function operationActivities({ neon, clock = systemClock }: ActivityDeps) {
  return {
    waitForOperations: activity(
      z.object({
        projectId: neonId,
        operationIds: z.array(z.string().min(1)),
        maxPollIntervalMs: z.number().int().min(FIRST_INTERVAL_MS).max(60_000).optional(),
      }),
      async ({ projectId, operationIds, maxPollIntervalMs = 3000 }, call) => {
        const resumed = currentContext()?.info.heartbeatDetails as Progress | undefined;
        const { operations, polls } = await pollUntilDone(
          neon,
          clock,
          projectId,
          operationIds,
          { firstDelayMs: 0, maxPollIntervalMs, resumed },
          call,
        );
        return { operations, polls };
      },
    ),
  } satisfies Partial<NeonActivities>;
}

type Mutation = (input: never) => Promise<{ operationIds: string[] }>;

/** `activities` with the named mutations wrapped by `settling` (each learns under its own name). */
export function settlingAll<T extends Record<string, unknown>>(
  deps: Pick<ActivityDeps, 'neon' | 'clock'>,
  names: readonly (keyof T & string)[],
  activities: T,
): T {
  const out: Record<string, unknown> = { ...activities };
  for (const name of names) out[name] = settling(name, activities[name] as Mutation, deps);
  return out as T;
}
