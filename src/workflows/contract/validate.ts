import { ApplicationFailure } from '@temporalio/common';
import { z } from '../../shared/zod';

/**
 * Parses a workflow's input. Invalid input fails the workflow at once, before any Neon call, with a non-retryable
 * InvalidInput failure whose message names the field (retrying cannot fix it).
 */
export function parseInput<S extends z.core.$ZodType>(schema: S, input: unknown): z.output<S> {
  const parsed = z.safeParse(schema, input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.join('.') || '(input)';
  throw ApplicationFailure.create({
    type: 'InvalidInput',
    message: `invalid input: ${field}: ${issue?.message ?? 'invalid'}`,
    nonRetryable: true,
    details: [{ field }],
  });
}
