import { Context } from '@temporalio/activity';

/** The activity behind the health-check workflow: proves a worker is polling and can run activities. */
export function createHealthActivities(workerName = 'neon-promote') {
  return {
    async ping(message: string): Promise<{ reply: string; worker: string; attempt: number }> {
      return { reply: `pong: ${message}`, worker: workerName, attempt: Context.current().info.attempt };
    },
  };
}

export type HealthActivities = ReturnType<typeof createHealthActivities>;
