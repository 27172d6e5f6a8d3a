import type { Context } from '@temporalio/activity';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';

/**
 * Adds the project ID of the activity's input (every Neon activity takes `{ projectId, ... }`) to its log lines, next
 * to the workflowId and activityType the SDK adds, so an operator can follow one project through the logs.
 */
export function activityLogAttributes(): ActivityInterceptorsFactory {
  return (_ctx: Context) => {
    let projectId: string | undefined;
    return {
      inbound: {
        async execute(input, next) {
          const first = input.args[0] as { projectId?: unknown } | undefined;
          if (typeof first?.projectId === 'string') projectId = first.projectId;
          return next(input);
        },
      },
      outbound: {
        getLogAttributes(input, next) {
          return projectId ? { ...next(input), projectId } : next(input);
        },
      },
    };
  };
}
