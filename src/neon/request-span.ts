/**
 * OpenTelemetry spans of Neon requests, once tracing is on (traceNeonRequests): one client span per request, named by
 * its method and route template, with the status and the request ID. A span holds only what NeonCallInfo holds: never
 * a header (the API key), the URL with its IDs filled in, a body or a response (connection strings, passwords).
 */
import type * as otel from '@opentelemetry/api';
import { NeonApiError, type NeonCallInfo } from './errors';

let api: typeof otel | undefined;

/**
 * Makes every Neon request a span of the global tracer provider, child of the active span (an activity's). Until it is
 * called, @opentelemetry/api is not even loaded: a process that does not trace pays nothing.
 */
export async function traceNeonRequests(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when tracing is on
  api ??= require('@opentelemetry/api') as typeof otel;
}

/** Runs `send` inside the request's span, when tracing is on; the span ends with the status or the error's kind. */
export async function requestSpan<R extends { status: number }>(
  call: NeonCallInfo,
  send: () => Promise<R>,
): Promise<R> {
  if (!api) return send();
  const { SpanKind, SpanStatusCode, trace } = api;
  const attributes = {
    'http.request.method': call.method,
    'http.route': call.route,
    'neon.request_id': call.requestId,
  };
  const tracer = trace.getTracer('neon-promote');
  return tracer.startActiveSpan(`${call.method} ${call.route}`, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    try {
      const result = await send();
      span.setAttribute('http.response.status_code', result.status);
      return result;
    } catch (err) {
      // The error's kind, not its message: a message may quote what Neon sent back.
      const status = err instanceof NeonApiError ? err.status : undefined;
      if (status !== undefined) span.setAttribute('http.response.status_code', status);
      span.setAttribute('error.type', err instanceof Error ? err.name : 'unknown');
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw err;
    } finally {
      span.end();
    }
  });
}
