/**
 * Workflow interceptors bundled into the workflow sandbox (createWorker's `workflowModules`): they add projectId to
 * every workflow log line and count finished runs, so no workflow needs a line of its own for either. Deterministic:
 * they only read the input, the result and workflow time, and the log and metric sinks stay silent during replay.
 */
import { isCancellation, log, metricMeter, workflowInfo, type WorkflowInterceptorsFactory } from '@temporalio/workflow';
import { RUN_WORKFLOW_TYPES } from '../contract/definitions';

// Bucket bounds (seconds) for the promotion duration are set where the Runtime is installed (observability/runtime.ts).
const runs = metricMeter.createCounter(
  'neon_promote_runs',
  undefined,
  'Finished neon-promote runs by workflow type and outcome',
);
const promotions = metricMeter.createCounter('neon_promote_promotions', undefined, 'Finished promotions by outcome');
const promotionDuration = metricMeter.createHistogram(
  'neon_promote_promotion_duration',
  'float',
  's',
  'Time from the start of a promotion run (including any wait for earlier runs of the project) to its outcome',
);

const projectIdOf = (args: unknown[]): string | undefined => {
  const first = args[0] as { projectId?: unknown } | undefined;
  return typeof first?.projectId === 'string' ? first.projectId : undefined;
};

const outcomeOf = (result: unknown): string =>
  typeof (result as { outcome?: unknown } | undefined)?.outcome === 'string'
    ? (result as { outcome: string }).outcome
    : 'unknown';

export const interceptors: WorkflowInterceptorsFactory = () => {
  let projectId: string | undefined;
  return {
    inbound: [
      {
        async execute(input, next) {
          projectId = projectIdOf(input.args);
          const type = workflowInfo().workflowType;
          if (!RUN_WORKFLOW_TYPES.has(type)) return next(input);
          const started = Date.now(); // workflow time: the same on replay
          const finish = (outcome: string): void => {
            const durationMs = Date.now() - started;
            log.info('run finished', { outcome, durationMs });
            runs.add(1, { outcome }); // the sink adds namespace, taskQueue and workflowType
            if (type !== 'promote') return;
            promotions.add(1, { outcome });
            promotionDuration.record(durationMs / 1000, { outcome });
          };
          try {
            const result = await next(input);
            finish(outcomeOf(result));
            return result;
          } catch (err) {
            finish(isCancellation(err) ? 'cancelled' : 'failed');
            throw err;
          }
        },
      },
    ],
    outbound: [
      {
        getLogAttributes(input, next) {
          return projectId ? { ...next(input), projectId } : next(input);
        },
      },
    ],
  };
};
