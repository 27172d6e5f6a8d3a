import { ApplicationFailure } from '@temporalio/common';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { z } from 'zod';

/** The input was refused before anything started; `field` names the offending field, e.g. "checks.0.sql". */
export class InvalidInputError extends Error {
  override readonly name = 'InvalidInputError';
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

/** Another run of the project is active or queued, and the caller asked to be refused rather than wait. */
export class ProjectBusyError extends Error {
  override readonly name = 'ProjectBusyError';
  constructor(
    message: string,
    readonly projectId: string,
    readonly activeWorkflowId: string | null,
  ) {
    super(message);
  }
}

export function validated<S extends z.core.$ZodType>(schema: S, input: unknown): z.output<S> {
  const parsed = z.safeParse(schema, input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.join('.') || '(input)';
  throw new InvalidInputError(`invalid input: ${field}: ${issue?.message ?? 'invalid'}`, field);
}

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
