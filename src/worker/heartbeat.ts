import type { Context } from '@temporalio/activity';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';

/** Activities that heartbeat themselves with progress details an empty heartbeat would overwrite. */
const SELF_HEARTBEATING = new Set(['waitForOperations', 'cleanUpSwap']);

/**
 * Heartbeats for activities that do not, every `intervalMs`, so a worker that dies (SIGKILL, lost host) is noticed
 * after the heartbeat timeout (seconds) rather than the start-to-close timeout (a minute). Heartbeats also carry
 * cancellation to the activity, which then sees it on `Context.cancellationSignal`.
 */
export function autoHeartbeat(intervalMs = 1000): ActivityInterceptorsFactory {
  return (ctx: Context) => ({
    inbound: {
      async execute(input, next) {
        // Local activities have no heartbeats (the SDK logs a failed one for each): their workflow task stands in.
        if (ctx.info.isLocal || SELF_HEARTBEATING.has(ctx.info.activityType)) return next(input);
        ctx.heartbeat();
        const timer = setInterval(() => ctx.heartbeat(), intervalMs);
        try {
          return await next(input);
        } finally {
          clearInterval(timer);
        }
      },
    },
  });
}
