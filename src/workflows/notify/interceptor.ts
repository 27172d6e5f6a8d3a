/**
 * Notifications, for every mutating workflow at once: when a run ends (any outcome, failed or cancelled too) and it
 * has a webhook (its input's `notify.url`, else the worker's NEON_PROMOTE_WEBHOOK_URL), it starts an abandoned
 * deliverNotification child with the outcome and returns; the child retries the webhook for up to a day. Bundled as a
 * workflow interceptor module (WORKFLOW_INTERCEPTOR_MODULES in src/worker/bundle.ts), not exported by the workflows
 * barrel. Nothing here can change a run's outcome: a notification that cannot be started is logged and dropped.
 */
import {
  CancellationScope,
  ParentClosePolicy,
  TemporalFailure,
  isCancellation,
  log,
  startChild,
  workflowInfo,
  type WorkflowInterceptorsFactory,
} from '@temporalio/workflow';
import { deliverNotification } from './deliver';
import { notifyOptions, type NotifyTarget, type ProdWritesPayload, type RunFinishedPayload } from '../contract/notify';
import { webhookConfig } from '../runtime/activity-options';
import { currentRun } from '../runtime/run';
import { RUN_WORKFLOW_TYPES, type ForkWritesHandling, type ProdWritesSinceFork } from '../contract/definitions';

type End = { outcome: string; reason: string | null };

/** The innermost message of a failure chain: "Activity task failed" says less than its cause. */
function rootMessage(err: TemporalFailure): string {
  let innermost: Error = err;
  while (innermost.cause instanceof Error) innermost = innermost.cause;
  return innermost.message;
}

async function targetOf(args: unknown[], projectId: string | null): Promise<NotifyTarget | null> {
  const parsed = notifyOptions.safeParse((args[0] as { notify?: unknown } | undefined)?.notify);
  if (parsed.success) return { url: parsed.data.url };
  const { configured } = await webhookConfig.workerWebhook(projectId ? { projectId } : {});
  return configured ? { worker: true } : null;
}

/** What the webhook receives: names, statuses and times; no Neon IDs' secrets, checks, connection strings or inputs. */
export function payloadOf(args: unknown[], end: End): RunFinishedPayload {
  const info = workflowInfo();
  const progress = currentRun()?.progress;
  const given = (args[0] as { projectId?: unknown } | undefined)?.projectId;
  const projectId = progress?.projectId ?? (typeof given === 'string' ? given : null);
  const finished = Date.now();
  const ms = (from: string, to: string | null) => (to === null ? null : Date.parse(to) - Date.parse(from));
  const reason = (progress?.reason ?? end.reason)?.slice(0, 2000) ?? null;
  return {
    event: 'run.finished',
    deliveryId: `${info.workflowId}-notify-${info.runId}`,
    workflowId: info.workflowId,
    runId: info.runId,
    workflowType: info.workflowType,
    projectId,
    outcome: end.outcome,
    reason,
    startedAt: info.runStartTime.toISOString(),
    finishedAt: new Date(finished).toISOString(),
    durationMs: finished - info.runStartTime.getTime(),
    steps: (progress?.steps ?? []).map((step) => ({
      name: step.name,
      status: step.status,
      startedAt: step.startedAt,
      endedAt: step.endedAt,
      durationMs: ms(step.startedAt, step.endedAt),
    })),
    prodWrites: prodWritesOf(progress?.writes?.sinceFork),
    summary: `${info.workflowType} of project ${projectId ?? '?'}: ${end.outcome}${reason ? ` (${reason.slice(0, 300)})` : ''}`,
  };
}

/** Field by field, so nothing the count holds beyond names and numbers (its sample keys are rows' data) goes out. */
function prodWritesOf(report: ProdWritesSinceFork | null | undefined): ProdWritesPayload | null {
  if (!report) return null;
  const named = ({ table, handling }: { table: string; handling: ForkWritesHandling }) => ({ table, handling });
  return {
    forkPointAt: report.forkPoint?.createdAt ?? null,
    rowsChanged: report.rowsChanged,
    tables: report.tables.map(({ table, inserts, updates, deletes, handling }) => ({
      table,
      inserts,
      updates,
      deletes,
      handling,
    })),
    tablesAdded: report.tablesAdded.map(named),
    tablesDropped: report.tablesDropped.map(named),
  };
}

/** Shielded: a cancelled run still reports that it was cancelled. */
async function notifyEnd(args: unknown[], end: End): Promise<void> {
  await CancellationScope.nonCancellable(async () => {
    try {
      const payload = payloadOf(args, end);
      const target = await targetOf(args, payload.projectId);
      if (!target) return;
      await startChild(deliverNotification, {
        workflowId: payload.deliveryId,
        args: [{ ...(payload.projectId ? { projectId: payload.projectId } : {}), target, payload }],
        // The run's result must not wait for a webhook that is down: the child outlives it.
        parentClosePolicy: ParentClosePolicy.ABANDON,
      });
    } catch (err) {
      log.warn('notification not started', { error: err instanceof Error ? err.message : String(err) });
    }
  });
}

const outcomeOf = (result: unknown): End => {
  const returned = result as { outcome?: unknown; reason?: unknown } | undefined;
  return {
    outcome: typeof returned?.outcome === 'string' ? returned.outcome : 'unknown',
    reason: typeof returned?.reason === 'string' ? returned.reason : null,
  };
};

export const interceptors: WorkflowInterceptorsFactory = () => ({
  inbound: [
    {
      async execute(input, next) {
        if (!RUN_WORKFLOW_TYPES.has(workflowInfo().workflowType)) return next(input);
        let result: unknown;
        try {
          result = await next(input);
        } catch (err) {
          // Only failures fail a run; any other error fails the workflow task, which is retried: no outcome yet.
          if (err instanceof TemporalFailure) {
            // A refusal (recorded by runtime/interceptors.ts, which runs inside this one) changed nothing.
            const refused = currentRun()?.progress.outcome === 'refused';
            await notifyEnd(input.args, {
              outcome: isCancellation(err) ? 'cancelled' : refused ? 'refused' : 'failed',
              reason: rootMessage(err),
            });
          }
          throw err;
        }
        await notifyEnd(input.args, outcomeOf(result));
        return result;
      },
    },
  ],
});
