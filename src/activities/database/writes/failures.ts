import { ApplicationFailure } from '@temporalio/common';
import type { FailureDetails, WriteFailureType } from '../../contract';

/**
 * A write-safety or migration failure. Non-retryable on the failure itself unless `retryable` (a reconcile that lost a
 * race), so a workflow stops retrying it even where its retry policy does not list the type.
 */
export function writeFailure(
  type: WriteFailureType,
  message: string,
  details: FailureDetails = {},
  retryable = false,
): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: !retryable, details: [details] });
}
