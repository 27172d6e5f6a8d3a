import { WithStartWorkflowOperation } from '@temporalio/client';
import { NeonProjectId } from '../temporal/search-attributes';
import { coordinatorWorkflowId } from '../workflows/contract/definitions';
import { runMetadata } from '../workflows/contract/run-summary';

/**
 * The start half of an update-with-start to a project's coordinator: starts it if it is not running, else uses the
 * running one. The client's submissions and the admission of runs started directly
 * (src/activities/temporal/admission.ts) send it the same way, so the coordinator looks the same however it was first
 * started.
 */
export function coordinatorStart(projectId: string, taskQueue: string) {
  return new WithStartWorkflowOperation('projectCoordinator', {
    workflowId: coordinatorWorkflowId(projectId),
    taskQueue,
    args: [{ projectId }],
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: [{ key: NeonProjectId, value: projectId }],
    ...runMetadata('projectCoordinator', { projectId }),
  });
}

/** How often a submission meeting a transient refusal is sent again, and the first pause (doubling each time). */
const TRANSIENT_ATTEMPTS = 8;
const TRANSIENT_PAUSE_MS = 50;

/**
 * Whether the server turned an update away for a reason of its own that a new attempt clears: the coordinator's
 * workflow task for it was lost in a race (FAILED_PRECONDITION "unexpected workflow task failure", seen when many
 * submissions meet a coordinator continuing as new), the update was aborted as its run closed (UNAVAILABLE), or the
 * coordinator has as many updates in flight as the server allows (RESOURCE_EXHAUSTED, seen when a fleet of callers
 * submits to one project while its worker is busy). None says anything about the submission itself.
 */
export function isTransientRefusal(err: unknown): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    const text = typeof message === 'string' ? message : '';
    if (code === 9 && text.includes('unexpected workflow task failure')) return true;
    if (code === 14 && text.includes('update was aborted')) return true;
    if (code === 8 && text.includes('concurrent in-flight updates')) return true;
  }
  return false;
}

/**
 * Sends a submission again while the server refuses it transiently. Safe because a submission is idempotent: the
 * coordinator answers a second submission of the same run with the first one's answer.
 */
export async function retryTransientRefusals<T>(send: () => Promise<T>, retried?: () => void): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (err) {
      if (attempt >= TRANSIENT_ATTEMPTS || !isTransientRefusal(err)) throw err;
      retried?.();
      await new Promise((resolve) => setTimeout(resolve, TRANSIENT_PAUSE_MS * 2 ** (attempt - 1)));
    }
  }
}
