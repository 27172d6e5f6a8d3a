import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';
import type * as otelWorker from '@temporalio/interceptors-opentelemetry/lib/worker';
import type { OpenTelemetrySinks } from '@temporalio/interceptors-opentelemetry/lib/workflow/definitions';
import { requireInstalled, TRACING_INTERCEPTOR_PACKAGES, type Tracing } from '../observability/tracing';
import { traceNeonRequests } from '../neon/request-span';

/** What createWorker needs of a started tracer provider (startTracing's, or the embedding service's own). */
export type WorkerTracing = Pick<Tracing, 'spanProcessor' | 'resource'>;

/**
 * The sinks the bundle's tracing interceptors call, for a worker that does not trace and for a replay worker (which
 * calls no sink while it replays, but reports one it was not given as an error): the workflow spans are dropped.
 */
export const UNTRACED_SINKS: InjectedSinks<OpenTelemetrySinks> = { exporter: { export: { fn: () => undefined } } };

/**
 * The worker's side of tracing: OpenTelemetry's activity interceptors (a span per activity, child of the workflow's
 * span that scheduled it; trace IDs on activity log lines), the Neon request spans, and the `exporter` sink through
 * which the workflow interceptors (in every bundle built where they are installed, src/worker/bundle.ts) hand their
 * spans out of the sandbox. Without `tracing` the sink drops them and nothing of OpenTelemetry is loaded here; with it,
 * the optional packages it needs must be installed, or the worker does not start.
 */
export async function tracingOptions(
  tracing?: WorkerTracing,
): Promise<{ activity: ActivityInterceptorsFactory[]; sinks: InjectedSinks<OpenTelemetrySinks> }> {
  if (!tracing) return { activity: [], sinks: UNTRACED_SINKS };
  requireInstalled(TRACING_INTERCEPTOR_PACKAGES, 'a worker given tracing', 'or no tracing');
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when tracing is on
  const otel = require('@temporalio/interceptors-opentelemetry/lib/worker') as typeof otelWorker;
  await traceNeonRequests();
  return {
    activity: [
      (ctx) => ({
        inbound: new otel.OpenTelemetryActivityInboundInterceptor(ctx),
        outbound: new otel.OpenTelemetryActivityOutboundInterceptor(ctx),
      }),
    ],
    sinks: { exporter: otel.makeWorkflowExporter(tracing.spanProcessor, tracing.resource) },
  };
}
