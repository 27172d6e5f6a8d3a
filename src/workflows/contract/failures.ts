/** The failures a workflow ends with when it cannot go ahead as asked. */
import { ApplicationFailure } from '@temporalio/workflow';

/** A refusal: the run cannot go ahead as asked, nothing was changed, and retrying will not help. */
export function refuse(message: string, type = 'Refused'): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}
