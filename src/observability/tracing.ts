/**
 * OpenTelemetry tracing: off unless the standard OTEL_* variables turn it on, and then the SDK is loaded (lazily, so a
 * process that does not trace never loads it). A promotion is one trace: the client's call, the workflows, their
 * activities and each Neon request (src/neon/request-span.ts), linked through Temporal headers by
 * @temporalio/interceptors-opentelemetry.
 *
 * Every package of it is an optional peer dependency (TRACING_PACKAGES, the OTLP exporters): a service that does not
 * trace does not install them, and a process asked to trace without them stops at start naming all it lacks.
 */
import type * as resources from '@opentelemetry/resources';
import type { Resource } from '@opentelemetry/resources';
import type * as sdk from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Context } from '@opentelemetry/api';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import type * as contextHooks from '@opentelemetry/context-async-hooks';
import type * as otlpJson from '@opentelemetry/exporter-trace-otlp-http';
import type * as otlpProto from '@opentelemetry/exporter-trace-otlp-proto';
import type * as otelClient from '@temporalio/interceptors-opentelemetry/lib/client';
import { traceNeonRequests } from '../neon/request-span';

/**
 * Loads a module on first use, with require: a dynamic import() run through tsx (the CLI in a checkout) resolves as
 * ES modules do, which refuse the interceptors' directory subpaths.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const lazy = <T>(id: string): T => require(id) as T;

/** Where spans go: OTLP over HTTP (protobuf, or JSON) to OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, or stdout. */
export type TraceExporterKind = 'otlp-proto' | 'otlp-json' | 'console';

export type TracingSettings = { exporters: TraceExporterKind[] };

const PROTOCOLS = { 'http/protobuf': 'otlp-proto', 'http/json': 'otlp-json' } as const;

const listOf = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((item) => item.trim().toLowerCase())
    .filter((item) => item.length > 0);

/**
 * Whether the OTEL_* variables ask for traces: OTEL_TRACES_EXPORTER names an exporter other than `none`, or (it unset)
 * an OTLP endpoint is set; OTEL_SDK_DISABLED=true turns it all off. Never throws (see tracingSettingsFromEnv).
 */
export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const named = listOf(env.OTEL_TRACES_EXPORTER);
  if (named.length > 0) return !named.includes('none');
  return Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT);
}

/**
 * What the OTEL_* variables ask for, or undefined (off). OTEL_TRACES_EXPORTER: `otlp`, `console` or `none` (default:
 * `otlp` when an OTLP endpoint is set); OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL: `http/protobuf` (default) or `http/json`.
 * Anything else throws: a worker started with tracing it cannot do should say so, not run untraced.
 */
export function tracingSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): TracingSettings | undefined {
  if (!tracingRequested(env)) return undefined;
  const named = listOf(env.OTEL_TRACES_EXPORTER);
  const protocol = (
    env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ||
    env.OTEL_EXPORTER_OTLP_PROTOCOL ||
    'http/protobuf'
  ).trim();
  const exporters = (named.length > 0 ? named : ['otlp']).map((name): TraceExporterKind => {
    if (name === 'console') return 'console';
    if (name !== 'otlp') throw new Error(`OTEL_TRACES_EXPORTER: ${name} is not one of otlp, console, none`);
    const kind = PROTOCOLS[protocol as keyof typeof PROTOCOLS];
    if (!kind) throw new Error(`OTEL_EXPORTER_OTLP_PROTOCOL: ${protocol} is not supported (http/protobuf, http/json)`);
    return kind;
  });
  return { exporters: [...new Set(exporters)] };
}

/**
 * What a traced process loads besides an exporter, all optional peer dependencies: with what they bring (most of it
 * OpenTelemetry's semantic conventions) they would be a good part of neon-promote's own installed size. The API and the
 * interceptors are all a client or worker needs when the embedding service runs the tracer provider
 * (TRACING_INTERCEPTOR_PACKAGES).
 */
export const TRACING_PACKAGES = [
  '@opentelemetry/api',
  '@opentelemetry/context-async-hooks',
  '@opentelemetry/resources',
  '@opentelemetry/sdk-trace-base',
  '@temporalio/interceptors-opentelemetry',
] as const;
export const TRACING_INTERCEPTOR_PACKAGES = ['@opentelemetry/api', '@temporalio/interceptors-opentelemetry'] as const;

const EXPORTER_PACKAGES: Record<TraceExporterKind, string | undefined> = {
  'otlp-proto': '@opentelemetry/exporter-trace-otlp-proto',
  'otlp-json': '@opentelemetry/exporter-trace-otlp-http',
  console: undefined, // sdk-trace-base's
};

const EXPORTER_NAMES: Record<TraceExporterKind, string> = {
  'otlp-proto': 'OTLP over HTTP (protobuf)',
  'otlp-json': 'OTLP over HTTP (JSON)',
  console: 'the console',
};

/** A started tracer provider: createWorker's `tracing` takes it (the workflow spans go through its processor). */
export type Tracing = {
  spanProcessor: SpanProcessor;
  resource: Resource;
  /** Exports every span ended so far. */
  flush(): Promise<void>;
  /** Flushes, then stops exporting. */
  shutdown(): Promise<void>;
};

/**
 * Registers the process's global tracer provider (W3C trace context, the active span carried through async calls)
 * with a batching processor per exporter, and turns on the Neon request spans. The resource's service.name is
 * `serviceName` unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES say otherwise.
 */
export async function startTracing(opts: { serviceName: string; exporters: SpanExporter[] }): Promise<Tracing> {
  requireInstalled(TRACING_PACKAGES, 'tracing', 'or OTEL_TRACES_EXPORTER=none');
  const { BasicTracerProvider, BatchSpanProcessor } = lazy<typeof sdk>('@opentelemetry/sdk-trace-base');
  const { Resource: Resources, envDetectorSync } = lazy<typeof resources>('@opentelemetry/resources');
  const { AsyncLocalStorageContextManager } = lazy<typeof contextHooks>('@opentelemetry/context-async-hooks');
  const resource = Resources.default()
    .merge(new Resources({ 'service.name': opts.serviceName }))
    .merge(envDetectorSync.detect());
  const spanProcessor = allOf(opts.exporters.map((exporter) => new BatchSpanProcessor(exporter)));
  const provider = new BasicTracerProvider({ resource });
  provider.addSpanProcessor(spanProcessor);
  provider.register({ contextManager: new AsyncLocalStorageContextManager().enable() });
  await traceNeonRequests();
  return {
    spanProcessor,
    resource,
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

/** startTracing with the exporters the OTEL_* variables ask for; undefined (nothing loaded) when they ask for none. */
export async function tracingFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  serviceName = 'neon-promote',
): Promise<Tracing | undefined> {
  const settings = tracingSettingsFromEnv(env);
  if (!settings) return undefined;
  const exporterPackages = settings.exporters.flatMap((kind) => EXPORTER_PACKAGES[kind] ?? []);
  const missingCore = missingOf(TRACING_PACKAGES).length > 0;
  requireInstalled(
    [...TRACING_PACKAGES, ...exporterPackages],
    `tracing to ${settings.exporters.map((kind) => EXPORTER_NAMES[kind]).join(' and ')}`,
    // The console exporter needs the SDK only: the way out when only an OTLP exporter is missing.
    missingCore ? 'or OTEL_TRACES_EXPORTER=none' : 'or OTEL_TRACES_EXPORTER=console, or none',
  );
  // The OTLP exporters read their endpoint, headers, timeout and compression from OTEL_EXPORTER_OTLP_* themselves.
  const exporters = await Promise.all(settings.exporters.map(exporterOf));
  return startTracing({ serviceName, exporters });
}

/**
 * Throws, naming every package of `ids` that is not installed and the one command that installs them all with the
 * versions package.json asks, unless all are there. Resolves them without loading them.
 */
export function requireInstalled(ids: readonly string[], wantedFor: string, otherwise: string): void {
  const missing = missingOf(ids);
  if (missing.length === 0) return;
  const what =
    missing.length === 1
      ? 'an optional dependency of neon-promote that is'
      : 'optional dependencies of neon-promote that are';
  const install = missing.map((id) => `${id}@${peerVersionOf(id)}`).join(' ');
  throw new Error(`${wantedFor} needs ${what} not installed: npm install ${install} (${otherwise})`);
}

function missingOf(ids: readonly string[]): string[] {
  return [...new Set(ids)].filter((id) => {
    try {
      require.resolve(id);
      return false;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return true;
      throw err;
    }
  });
}

/** The version range package.json asks of a peer dependency (read on this error path only). */
function peerVersionOf(id: string): string {
  try {
    const pkg = lazy<{ peerDependencies?: Record<string, string> }>('../../package.json');
    return pkg.peerDependencies?.[id] ?? 'latest';
  } catch {
    return 'latest';
  }
}

async function exporterOf(kind: TraceExporterKind): Promise<SpanExporter> {
  switch (kind) {
    case 'otlp-proto':
      return new (lazy<typeof otlpProto>('@opentelemetry/exporter-trace-otlp-proto').OTLPTraceExporter)();
    case 'otlp-json':
      return new (lazy<typeof otlpJson>('@opentelemetry/exporter-trace-otlp-http').OTLPTraceExporter)();
    case 'console':
      return new (lazy<typeof sdk>('@opentelemetry/sdk-trace-base').ConsoleSpanExporter)();
  }
}

/** One processor for several (the workflow span sink takes one). */
function allOf(processors: SpanProcessor[]): SpanProcessor {
  if (processors.length === 1) return processors[0]!;
  return {
    onStart: (span: Span, context: Context) => processors.forEach((processor) => processor.onStart(span, context)),
    onEnd: (span: ReadableSpan) => processors.forEach((processor) => processor.onEnd(span)),
    forceFlush: async () => void (await Promise.all(processors.map((processor) => processor.forceFlush()))),
    shutdown: async () => void (await Promise.all(processors.map((processor) => processor.shutdown()))),
  };
}

/**
 * The Temporal client interceptor of @temporalio/interceptors-opentelemetry: a span per client call (start,
 * update-with-start, signal, query, cancel...) whose context goes to the workflow in its headers. Spans go to the
 * global tracer provider: startTracing's, or the embedding service's own.
 */
export async function tracingClientInterceptors(): Promise<WorkflowClientInterceptor[]> {
  requireInstalled(TRACING_INTERCEPTOR_PACKAGES, 'tracing client calls', 'or connect with tracing: false');
  const { OpenTelemetryWorkflowClientInterceptor } = lazy<typeof otelClient>(
    '@temporalio/interceptors-opentelemetry/lib/client',
  );
  return [new OpenTelemetryWorkflowClientInterceptor()];
}
