import { ApplicationFailure } from '@temporalio/common';
import { WorkflowUpdateFailedError } from '@temporalio/client';

export { InvalidInputError, ProjectBusyError, validated } from './input-errors';
import { InvalidInputError, ProjectBusyError } from './input-errors';

/** Turns the coordinator's refusals (update validator failures) into the client's error classes. */
export function fromSubmitError(err: unknown, projectId: string): unknown {
  if (!(err instanceof WorkflowUpdateFailedError) || !(err.cause instanceof ApplicationFailure)) return err;
  const cause = err.cause;
  if (cause.type === 'ProjectBusy') {
    const state = cause.details?.[0] as { active?: string | null } | undefined;
    return new ProjectBusyError(cause.message, projectId, state?.active ?? null);
  }
  if (cause.type === 'InvalidInput')
    return new InvalidInputError(cause.message, cause.message.split(':')[1]?.trim() ?? '');
  return err;
}
