/**
 * OpenTelemetry's workflow interceptors (createWorker's `workflowModules`, in every bundle built where
 * @temporalio/interceptors-opentelemetry is installed: src/worker/bundle.ts): a span for the run, the updates and
 * signals it handles, and each activity and child it starts, whose context goes to the activity or child in its
 * headers. They add headers and spans, never a command. Their spans leave the sandbox through the worker's
 * `exporter` sink, which drops them when the worker does not trace (src/worker/tracing.ts).
 *
 * They are loaded only in a workflow that is given a trace context: its start, or an update or signal it handles,
 * carries one (the caller traced). The OpenTelemetry SDK they load takes about 2 MB in each workflow the worker
 * caches, too much for runs nobody traces. The decision rests only on headers kept in history, so a replay decides
 * the same: a query's or an update validator's header never turns tracing on, as neither is in history.
 */
import type * as otel from '@temporalio/interceptors-opentelemetry/lib/workflow';
import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';

/** The header @temporalio/interceptors-opentelemetry carries the trace context in. */
const TRACE_HEADER = '_tracer-data';

type Traced = {
  inbound: otel.OpenTelemetryInboundInterceptor;
  outbound: otel.OpenTelemetryOutboundInterceptor;
  internals: otel.OpenTelemetryInternalsInterceptor;
};

export const interceptors: WorkflowInterceptorsFactory = () => {
  let traced: Traced | undefined;
  const tracedFor = (headers: Record<string, unknown>): Traced | undefined => {
    if (!traced && headers[TRACE_HEADER] !== undefined) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use (see above)
      const loaded = require('@temporalio/interceptors-opentelemetry/lib/workflow') as typeof otel;
      traced = {
        inbound: new loaded.OpenTelemetryInboundInterceptor(),
        outbound: new loaded.OpenTelemetryOutboundInterceptor(),
        internals: new loaded.OpenTelemetryInternalsInterceptor(),
      };
    }
    return traced;
  };
  return {
    inbound: [
      {
        execute: (input, next) => tracedFor(input.headers)?.inbound.execute(input, next) ?? next(input),
        handleSignal: (input, next) => tracedFor(input.headers)?.inbound.handleSignal(input, next) ?? next(input),
        handleUpdate: (input, next) => tracedFor(input.headers)?.inbound.handleUpdate(input, next) ?? next(input),
        validateUpdate: (input, next) => (traced ? traced.inbound.validateUpdate(input, next) : next(input)),
        handleQuery: (input, next) => traced?.inbound.handleQuery(input, next) ?? next(input),
      },
    ],
    outbound: [
      {
        scheduleActivity: (input, next) => traced?.outbound.scheduleActivity(input, next) ?? next(input),
        scheduleLocalActivity: (input, next) => traced?.outbound.scheduleLocalActivity(input, next) ?? next(input),
        startChildWorkflowExecution: (input, next) =>
          traced?.outbound.startChildWorkflowExecution(input, next) ?? next(input),
        continueAsNew: (input, next) => traced?.outbound.continueAsNew(input, next) ?? next(input),
        signalWorkflow: (input, next) => traced?.outbound.signalWorkflow(input, next) ?? next(input),
        getLogAttributes: (input, next) => traced?.outbound.getLogAttributes(input, next) ?? next(input),
      },
    ],
    internals: [
      {
        dispose(input, next) {
          // OpenTelemetry's is async only in name: it disables its context manager and calls next at once.
          if (traced) void traced.internals.dispose(input, next);
          else next(input);
        },
      },
    ],
  };
};
