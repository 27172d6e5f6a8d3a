import { health } from './runtime/activity-options';

export type HealthCheckResult = { reply: string; worker: string };

/** Round trip through a worker: the smallest run that shows the server, the worker and activities are wired. */
export async function healthCheck(message: string): Promise<HealthCheckResult> {
  const { reply, worker } = await health.ping(message);
  return { reply, worker };
}
