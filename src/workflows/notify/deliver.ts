/**
 * Delivers one run's notification, retried for up to a day. A child of the run, abandoned when the run closes: the run
 * returns its outcome at once, and a webhook that is down for hours delays only this workflow, which then fails
 * visibly (type deliverNotification) in the UI. Temporal would cancel an activity the run itself left pending.
 */
import type { NotifyInput, NotifyResult } from '../../activities/contract';
import { notifications } from '../runtime/activity-options';

export async function deliverNotification(input: NotifyInput): Promise<NotifyResult> {
  return notifications.notify(input);
}
