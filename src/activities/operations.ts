import { z } from 'zod';
import { type CallOptions, type NeonClient, OPERATION_DONE, OPERATION_FAILED } from '../neon';
import { type ActivityDeps, systemClock } from './deps';
import { activity, currentContext, failure } from './failures';
import { neonId } from './inputs';
import { toOperationSummary } from './mappers';
import type { NeonActivities, OperationSummary } from './types';

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
 * One activity that waits for Neon operations, instead of a polling loop in workflow history. It checks at once, then
 * after 100 ms, growing by half each time up to `maxPollIntervalMs`, heartbeating after every round so that
 * cancellation reaches it and a retry resumes from the heartbeat details.
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
        const ctx = currentContext();
        const resumed = ctx?.info.heartbeatDetails as Progress | undefined;
        const done = new Map((resumed?.done ?? []).map((o) => [o.id, o]));
        let polls = resumed?.polls ?? 0;
        let pending = [...new Set(operationIds)].filter((id) => !done.has(id));
        let interval = FIRST_INTERVAL_MS;

        while (pending.length > 0) {
          // Sequential on purpose: a restore returns a handful of operations and the rate budget is shared.
          for (const id of pending) {
            const op = await neon.getOperation(projectId, id, call);
            if (OPERATION_FAILED.has(op.status)) {
              throw failure(
                'OperationFailed',
                `operation ${op.id} (${op.action}) ${op.status}${op.error ? `: ${op.error}` : ''}`,
                { operationId: op.id },
              );
            }
            if (OPERATION_DONE.has(op.status)) done.set(op.id, toOperationSummary(op));
          }
          polls++;
          pending = pending.filter((id) => !done.has(id));
          ctx?.heartbeat({ done: [...done.values()], polls } satisfies Progress);
          if (pending.length === 0) break;
          await clock.sleep(interval, call.signal);
          interval = Math.min(maxPollIntervalMs, Math.round(interval * GROWTH));
        }
        return { operations: operationIds.map((id) => done.get(id)).filter((o) => o !== undefined), polls };
      },
    ),
  } satisfies Partial<NeonActivities>;
}
