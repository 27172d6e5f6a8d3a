/**
 * Workflow interceptors bundled into the workflow sandbox (createWorker's `workflowModules`): they add projectId to
 * every workflow log line and count finished runs, so no workflow needs a line of its own for either. Deterministic:
 * they only read the input, the result and workflow time, and the log and metric sinks stay silent during replay.
 *
 * They also make a run readable in the Temporal UI without a line at each call site: each activity's summary names
 * the step it runs for (the timeline shows "ensureSnapshot • snapshot_prod", not a bare activity type), each child a
 * run starts gets the summary and details of its kind (run-summary.ts), and a run that ends with a refusal (a
 * failure type in REFUSALS: nothing was changed) is recorded as refused and fails with a message that says so.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  isCancellation,
  log,
  metricMeter,
  workflowInfo,
  type WorkflowInterceptorsFactory,
} from '@temporalio/workflow';
import { REFUSALS } from '../../shared/failure-types';
import { RUN_WORKFLOW_TYPES } from '../contract/definitions';
import { runMetadata } from '../contract/run-summary';
import { currentRun } from './run';

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

/**
 * The refusal a run ended with, if it did: an ApplicationFailure whose type is a refusal, thrown by the workflow or by
 * an activity or child it called.
 */
function refusalOf(err: unknown): ApplicationFailure | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof ApplicationFailure) return e.type && REFUSALS.has(e.type) ? e : undefined;
    if (!(e instanceof ActivityFailure || e instanceof ChildWorkflowFailure)) return undefined;
  }
  return undefined;
}

/** The failure a refused run ends with: the refusal's type and details, its message starting with "refused: ". */
function asRefused(err: unknown, refusal: ApplicationFailure, reason: string): ApplicationFailure {
  if (err === refusal && refusal.message.startsWith('refused: ')) return refusal;
  return ApplicationFailure.create({
    type: refusal.type ?? undefined,
    message: `refused: ${reason}`,
    nonRetryable: true,
    details: refusal.details ? [...refusal.details] : undefined,
    cause: err instanceof Error ? err : undefined,
  });
}

/** The step running now ("snapshot_prod"); none outside steps. The UI shows it next to the activity type. */
const stepSummary = (): string | undefined => currentRun()?.activeStep() ?? undefined;

export const interceptors: WorkflowInterceptorsFactory = () => {
  let projectId: string | undefined;
  return {
    inbound: [
      {
        async execute(input, next) {
          projectId = projectIdOf(input.args);
          const type = workflowInfo().workflowType;
          const counted = RUN_WORKFLOW_TYPES.has(type);
          const started = Date.now(); // workflow time: the same on replay
          const finish = (outcome: string): void => {
            if (!counted) return;
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
            const refusal = isCancellation(err) ? undefined : refusalOf(err);
            if (!refusal) {
              finish(isCancellation(err) ? 'cancelled' : 'failed');
              throw err;
            }
            const reason = refusal.message.replace(/^refused: /, '');
            const run = currentRun();
            if (run && run.progress.outcome !== 'refused') run.finish('refused', reason);
            finish('refused');
            throw asRefused(err, refusal, reason);
          }
        },
      },
    ],
    outbound: [
      {
        getLogAttributes(input, next) {
          return projectId ? { ...next(input), projectId } : next(input);
        },
        scheduleActivity(input, next) {
          const summary = input.options.summary ?? stepSummary();
          return next(summary ? { ...input, options: { ...input.options, summary } } : input);
        },
        scheduleLocalActivity(input, next) {
          const summary = input.options.summary ?? stepSummary();
          return next(summary ? { ...input, options: { ...input.options, summary } } : input);
        },
        startChildWorkflowExecution(input, next) {
          const described = runMetadata(input.workflowType, input.options.args?.[0]);
          const options = {
            ...input.options,
            staticSummary: input.options.staticSummary ?? described.staticSummary,
            staticDetails: input.options.staticDetails ?? described.staticDetails,
          };
          return next({ ...input, options });
        },
      },
    ],
  };
};
