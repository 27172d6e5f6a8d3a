// A test-only workflow: calls one activity by name with the retry policy workflows are expected to use.
import { proxyActivities } from '@temporalio/workflow';
import type { NeonActivities, VerificationActivities } from '../../src/activities/contract';
import { NON_RETRYABLE_FAILURE_TYPES } from '../../src/shared/failure-types';

/** The Neon calls and the branch checks: what the activity tests call one at a time. */
type CalledActivities = NeonActivities & VerificationActivities;

const nonRetryableErrorTypes = [...NON_RETRYABLE_FAILURE_TYPES];

const activities = proxyActivities<CalledActivities>({
  startToCloseTimeout: '20 seconds',
  retry: { initialInterval: '50 milliseconds', backoffCoefficient: 1, maximumAttempts: 6, nonRetryableErrorTypes },
});

export async function callActivity(name: keyof CalledActivities, input: unknown): Promise<unknown> {
  const fn = activities[name] as (i: unknown) => Promise<unknown>;
  return fn(input);
}
