import { proxyActivities } from '@temporalio/workflow';
import type { HealthActivities } from '../activities/health';

const { ping } = proxyActivities<HealthActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 3 },
});

export type HealthCheckResult = { reply: string; worker: string };

/** Round trip through a worker: the smallest run that shows the server, the worker and activities are wired. */
export async function healthCheck(message: string): Promise<HealthCheckResult> {
  const { reply, worker } = await ping(message);
  return { reply, worker };
}
