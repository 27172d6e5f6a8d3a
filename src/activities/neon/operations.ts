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
/** The first poll intervals of a kind of mutation the worker has not timed yet: fine, so its first estimate is tight. */
const LEARNING_INTERVAL_MS = 25;
const GROWTH = 1.5;

/**
 * Polls until every operation is terminal, heartbeating after each round (cancellation reaches it; a retry of
 * waitForOperations resumes from the details). The first round comes after `firstDelayMs`, the next ones
 * `firstIntervalMs` (default 100 ms) later, growing by half up to `maxPollIntervalMs`. Sequential on purpose: a
 * restore returns a handful of operations and the rate budget is shared.
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
  },
  call: CallOptions,
): Promise<{ operations: OperationSummary[]; polls: number; rounds: number }> {
  const ctx = currentContext();
  const done = new Map((options.resumed?.done ?? []).map((op) => [op.id, op]));
  let polls = options.resumed?.polls ?? 0;
  let rounds = 0;
  let pending = [...new Set(operationIds)].filter((id) => !done.has(id));
  let interval = options.firstIntervalMs ?? FIRST_INTERVAL_MS;
  if (pending.length > 0 && options.firstDelayMs > 0) await clock.sleep(options.firstDelayMs, call.signal);
  while (pending.length > 0) {
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
    rounds++;
    pending = pending.filter((id) => !done.has(id));
    ctx?.heartbeat({ done: [...done.values()], polls } satisfies Progress);
    if (pending.length === 0) break;
    await clock.sleep(interval, call.signal);
    interval = Math.min(options.maxPollIntervalMs, Math.round(interval * GROWTH));
  }
  const operations = operationIds.map((id) => done.get(id)).filter((op) => op !== undefined);
  return { operations, polls, rounds };
}

/**
 * How long each kind of mutation's operations usually run, learned in this process, so that a mutation waiting for
 * its own operations polls first when they are likely done instead of at once: on Neon's emulator and on Neon a
 * poll sent right after the mutation finds the operation running, and each such poll is an API call (and per-route
 * budget) spent for nothing. A first poll that found work still running raises the estimate to when the next polls
 * (a tenth of the estimate apart at first, then growing) saw the work done; one that found it done lowers it by 5%,
 * or at once to a little over what Neon reports the operations took (`total_duration_ms`) when that is less. So it
 * hovers just above the usual duration: with steady durations about one first poll in three finds work running (one
 * extra poll) and a wait ends within a tenth of the duration after the work. A kind not timed yet starts from the
 * shortest estimate of the kinds that are (its first poll then most likely finds the work done or nearly), and the
 * process's very first one at 0 with polls 25 ms apart (a few extra polls, once per worker). Capped, so that a few
 * slow operations do not delay the next ones much.
 */
export class SettleTimes {
  private readonly estimates = new Map<string, number>();
  constructor(private readonly capMs = 5_000) {}

  firstDelayMs(kind: string): number {
    const known = this.estimates.get(kind);
    if (known !== undefined) return known;
    return this.estimates.size ? Math.min(...this.estimates.values()) : 0;
  }

  /**
   * `doneAtMs`: when (after the mutation answered) the poll that found every operation done was sent; `reportedMs`:
   * the longest `total_duration_ms` Neon reported for them, when known.
   */
  record(kind: string, firstPollFoundDone: boolean, doneAtMs: number, reportedMs?: number): void {
    const current = this.firstDelayMs(kind);
    let next = firstPollFoundDone ? current * 0.95 : doneAtMs;
    if (firstPollFoundDone && reportedMs !== undefined && reportedMs > 0) next = Math.min(next, reportedMs * 1.1 + 10);
    this.estimates.set(kind, Math.min(this.capMs, Math.round(next)));
  }
}

/** One estimate per worker process: every workflow's mutations of a kind run against the same Neon. */
const processSettleTimes = new SettleTimes();

/**
 * Mutations that may be sent again after one of their operations failed: a failed delete leaves the resource in place,
 * and a delete of what is gone is done. Their OperationFailed is retryable, so the caller's retry policy decides
 * whether to send them again (the workflows' `cleanup` option set does, src/workflows/runtime/activity-options.ts),
 * up to SENDS_AFTER_FAILED_OPERATION attempts: an operation that keeps failing is Neon's answer, not a passing fault,
 * and a run must not hold its project's turn on it forever (the janitor deletes what is left later).
 */
export { SENDS_AFTER_FAILED_OPERATION };

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
    const answeredAt = clock.now();
    const firstDelayMs = times.firstDelayMs(kind);
    const call = callOptions();
    try {
      // Polls after the first come soon (a tenth of the estimate apart, growing; 25 ms while nothing is learned), so
      // a miss costs little time and the estimate it leaves behind is tight.
      const firstIntervalMs = firstDelayMs > 0 ? Math.max(10, Math.round(firstDelayMs / 10)) : LEARNING_INTERVAL_MS;
      const options = { firstDelayMs, firstIntervalMs, maxPollIntervalMs: 2000, listSeveral: true };
      const { rounds, operations } = await pollUntilDone(
        neon,
        clock,
        input.projectId,
        result.operationIds,
        options,
        call,
      );
      const reported = operations.map((op) => op.totalDurationMs ?? 0);
      times.record(kind, rounds === 1, clock.now() - answeredAt, reported.length ? Math.max(...reported) : undefined);
    } catch (err) {
      const attempt = currentContext()?.info.attempt ?? 1;
      const failed = toFailure(err, attempt);
      if (!(failed instanceof ApplicationFailure) || failed.type !== 'OperationFailed') throw failed;
      if (!SENT_AGAIN_AFTER_FAILED_OPERATION.has(kind) || attempt >= SENDS_AFTER_FAILED_OPERATION) throw failed;
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
