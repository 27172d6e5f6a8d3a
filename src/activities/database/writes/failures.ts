import { ApplicationFailure } from '@temporalio/common';
import { WRITE_FAILURE_TYPES as SHARED_WRITE_FAILURE_TYPES } from '../../../shared/failure-types';
import type { FailureDetails } from '../../types';
import type { WriteFailureType } from './types';

/**
 * The failure types of issue 7. Marked non-retryable on the failure itself (except a reconcile that lost a race), so a workflow's retry policy need not
 * list them to stop retrying (though listing them in `nonRetryableErrorTypes` too is what the other types do).
 */
export const WRITE_FAILURE_TYPES = SHARED_WRITE_FAILURE_TYPES satisfies readonly WriteFailureType[];

export function writeFailure(
  type: WriteFailureType,
  message: string,
  details: FailureDetails = {},
  retryable = false,
): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: !retryable, details: [details] });
}
