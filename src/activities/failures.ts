import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { z } from 'zod';
import {
  NeonApiError,
  NeonConflictError,
  NeonLockedError,
  NeonNotFoundError,
  NeonQuotaExceededError,
  NeonRateLimitedError,
  NeonSchemaMismatchError,
  NeonUnauthorizedError,
  type CallOptions,
} from '../neon';
import { NON_RETRYABLE_FAILURE_TYPES } from '../shared/failure-types';
import type { ActivityFailureType, FailureDetails } from './contract';

const nonRetryable = new Set<string>(NON_RETRYABLE_FAILURE_TYPES);

/** Builds an ApplicationFailure of one of the stable types; retryability follows the type. */
export function failure(
  type: ActivityFailureType,
  message: string,
  details: FailureDetails = {},
  nextRetryDelayMs?: number,
): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable: nonRetryable.has(type),
    details: [details],
    ...(nextRetryDelayMs !== undefined ? { nextRetryDelay: nextRetryDelayMs } : {}),
  });
}

/**
 * When Neon gives no Retry-After, a lock or rate limit still deserves a growing pause: the attempt number makes it
 * 1 s, 2 s, 4 s ... up to 30 s, which outlasts a typical running operation without stalling long.
 */
function backoffMs(attempt: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.max(0, attempt - 1));
}

function neonFailureType(err: NeonApiError): ActivityFailureType {
  if (err instanceof NeonNotFoundError) return 'NeonNotFound';
  if (err instanceof NeonQuotaExceededError) return 'NeonQuotaExceeded';
  if (err instanceof NeonUnauthorizedError) return 'NeonUnauthorized';
  if (err instanceof NeonConflictError) return 'NeonConflict';
  if (err instanceof NeonSchemaMismatchError) return 'NeonSchemaMismatch';
  if (err instanceof NeonLockedError) return 'NeonLocked';
  if (err instanceof NeonRateLimitedError) return 'NeonRateLimited';
  return err.retryable ? 'NeonUnavailable' : 'NeonBadRequest';
}

/** Maps anything an activity throws to the ApplicationFailure the workflow sees. */
export function toFailure(err: unknown, attempt: number): unknown {
  if (err instanceof ApplicationFailure || err instanceof CancelledFailure) return err;
  if (err instanceof z.ZodError) {
    const issue = err.issues[0];
    const field = issue?.path.join('.') ?? '';
    return failure('InvalidInput', `invalid input: ${field || '(root)'}: ${issue?.message ?? 'invalid'}`, { field });
  }
  if (err instanceof NeonApiError) {
    const type = neonFailureType(err);
    const delay =
      type === 'NeonLocked' || type === 'NeonRateLimited' ? (err.retryAfterMs ?? backoffMs(attempt)) : undefined;
    return failure(type, err.message, { status: err.status, code: err.code, requestId: err.requestId }, delay);
  }
  return err;
}

/** The running activity's context, or undefined when called directly (a script, a unit test without an env). */
export function currentContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/** Request-ID context and the cancellation signal of the running activity, for every Neon call it makes. */
export function callOptions(): CallOptions {
  const ctx = currentContext();
  if (!ctx) return {};
  const { info } = ctx;
  return {
    context: { workflowId: info.workflowExecution?.workflowId, activityType: info.activityType, attempt: info.attempt },
    signal: ctx.cancellationSignal,
  };
}

/**
 * Wraps an activity body: validates the input with its schema, runs it with the call options, and maps what it
 * throws. Plain async function in, plain async function out, so the worker registers it like any other.
 */
export function activity<S extends z.ZodType, R>(
  schema: S,
  body: (input: z.output<S>, call: CallOptions) => Promise<R>,
): (input: z.input<S>) => Promise<R> {
  return async (input) => {
    const attempt = currentContext()?.info.attempt ?? 1;
    try {
      return await body(schema.parse(input), callOptions());
    } catch (err) {
      throw toFailure(err, attempt);
    }
  };
}
