/**
 * Delivers one run's notification, retried for up to a day. A child of the run, abandoned when the run closes: the run
 * returns its outcome at once, and a webhook that is down for hours delays only this workflow, which then fails
 * visibly (type deliverNotification) in the UI. Temporal would cancel an activity the run itself left pending.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { NotifyActivities, NotifyInput, NotifyResult } from '../../activities/notify/deliver';

const delivery = proxyActivities<NotifyActivities>({
  startToCloseTimeout: '30 seconds', // the request itself times out after 10 s
  scheduleToCloseTimeout: '24 hours',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '10 minutes',
    nonRetryableErrorTypes: ['WebhookRejected', 'WebhookNotConfigured'],
  },
});

export async function deliverNotification(input: NotifyInput): Promise<NotifyResult> {
  return delivery.notify(input);
}
