/**
 * OpenTelemetry's workflow interceptors (createWorker's `workflowModules`, in every bundle): a span for the run, each
 * update, signal and query it handles, and each activity and child it starts, whose context goes to the activity or
 * child in its headers. They add headers and spans, never a command, so a history replays the same with or without
 * them. The spans leave the sandbox through the worker's `exporter` sink, which drops them when the worker does not
 * trace (src/worker/tracing.ts).
 */
import {
  OpenTelemetryInboundInterceptor,
  OpenTelemetryInternalsInterceptor,
  OpenTelemetryOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/workflow';
import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';

export const interceptors: WorkflowInterceptorsFactory = () => ({
  inbound: [new OpenTelemetryInboundInterceptor()],
  outbound: [new OpenTelemetryOutboundInterceptor()],
  internals: [new OpenTelemetryInternalsInterceptor()],
});
