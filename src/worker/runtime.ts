import { IllegalStateError } from '@temporalio/common';
import { Runtime } from '@temporalio/worker';
import type { Logger } from 'pino';
import { temporalLogger } from '../observability/logger';

export type MetricsSettings = {
  /** host:port of the Prometheus endpoint (`/metrics`). */
  bindAddress: string;
};

/**
 * NEON_PROMOTE_METRICS_PORT turns the Prometheus endpoint on (unset: off, so two workers on one host do not fight for
 * a port); NEON_PROMOTE_METRICS_HOST is the address it binds (default 127.0.0.1; 0.0.0.0 in a container).
 */
export function metricsSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): MetricsSettings | undefined {
  const port = env.NEON_PROMOTE_METRICS_PORT;
  if (!port) return undefined;
  if (!/^\d+$/.test(port) || Number(port) > 65535) {
    throw new Error(`NEON_PROMOTE_METRICS_PORT must be a port number, not ${port}`);
  }
  const host = env.NEON_PROMOTE_METRICS_HOST || '127.0.0.1';
  return { bindAddress: `${host.includes(':') ? `[${host}]` : host}:${port}` };
}

/** A promotion takes seconds (small databases) to many minutes (approval, large restores). */
const PROMOTION_BUCKETS_S = [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600];

/**
 * Installs the process's Temporal Runtime: SDK, workflow and activity logs go to `logger` (core's own at WARN and up),
 * and with `metrics` the SDK's metrics and neon-promote's (see src/workflows/runtime/interceptors.ts) are served for Prometheus.
 * Must run before the first connection or worker; returns false when the embedding program installed one already.
 */
export function installRuntime(opts: { logger: Logger; metrics?: MetricsSettings }): boolean {
  try {
    Runtime.install({
      logger: temporalLogger(opts.logger),
      telemetryOptions: {
        logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} },
        ...(opts.metrics
          ? {
              metrics: {
                // Durations in seconds and counters ending in _total: what Prometheus users and dashboards expect.
                prometheus: {
                  bindAddress: opts.metrics.bindAddress,
                  countersTotalSuffix: true,
                  useSecondsForDurations: true,
                  histogramBucketOverrides: { neon_promote_promotion_duration: PROMOTION_BUCKETS_S },
                },
              },
            }
          : {}),
      },
    });
    return true;
  } catch (err) {
    // IllegalStateError: installed (or instantiated) before us. Anything else, e.g. a metrics port in use, is fatal.
    if (err instanceof IllegalStateError) return false;
    throw err;
  }
}
