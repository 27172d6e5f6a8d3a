import { Context } from '@temporalio/activity';
import type { HealthActivities } from './contract';

// The test fixture of a changed workflow imports the activities' type from here.
export type { HealthActivities } from './contract';

/** The activity behind the health-check workflow: proves a worker is polling and can run activities. */
export function createHealthActivities(workerName = 'neon-promote'): HealthActivities {
  return {
    async ping(message) {
      return { reply: `pong: ${message}`, worker: workerName, attempt: Context.current().info.attempt };
    },
  };
}
