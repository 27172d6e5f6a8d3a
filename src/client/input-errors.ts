/**
 * The client's refusals of input, apart from the Temporal SDK: a command line that only checks its input (or prints
 * its help) loads zod (its functional `zod/mini`, a fraction of classic zod's start-up), not the SDK.
 * src/client/errors.ts re-exports them, so there is one class of each.
 */
import { z } from '../shared/zod';

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
