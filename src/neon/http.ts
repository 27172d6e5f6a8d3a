/**
 * The transport under the Neon client: one undici dispatcher with keep-alive, the rate budget, X-Request-ID, schema
 * parsing at the boundary and the error mapping. No retries: Temporal's retry policy is the one retry layer.
 */
import { Agent, type Dispatcher, request } from 'undici';
import type { z } from 'zod';
import { redact } from '../shared/secrets';
import {
  NeonApiError,
  type NeonCallInfo,
  NeonConnectionError,
  NeonSchemaMismatchError,
  NeonTimeoutError,
  errorFromResponse,
  parseRetryAfter,
} from './errors';
import type { RateBudget } from './rate-budget';
import { requestSpan } from './request-span';
import { describeIssues, errorBody } from './schemas';

/** Who is calling: becomes the X-Request-ID so a Neon request can be traced to a workflow, activity and attempt. */
export type NeonRequestContext = { workflowId?: string; activityType?: string; attempt?: number };

/** Per call: the context for the request ID and a signal (an activity's cancellation) that aborts the request. */
export type CallOptions = { context?: NeonRequestContext; signal?: AbortSignal };

export type HttpConfig = {
  baseUrl: string;
  apiKey: string;
  dispatcher: Dispatcher;
  rateBudget: RateBudget;
  requestIdPrefix: string;
  /** Headers and body each (default 30 000 ms). */
  timeoutMs: number;
};

export type HttpRequest<T extends z.ZodType> = {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Template used for the rate budget and in errors, e.g. "/projects/{project_id}/branches". */
  route: string;
  /** Values for the template's placeholders, in order. */
  params: string[];
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  schema: T;
};

export function defaultDispatcher(): Dispatcher {
  return new Agent({
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 120_000,
    connections: 32,
    connect: { timeout: 10_000 },
  });
}

let sequence = 0;

/** Neon echoes X-Request-ID as `request_id`; keep it short and free of anything but safe characters. */
export function buildRequestId(prefix: string, context: NeonRequestContext | undefined): string {
  const parts = [prefix, context?.workflowId, context?.activityType, context?.attempt && `a${context.attempt}`]
    .filter((part): part is string => typeof part === 'string' && part.length > 0)
    .map((part) => part.replace(/[^A-Za-z0-9._:-]+/g, '_').slice(0, 80));
  sequence = (sequence + 1) % 1_000_000;
  return `${parts.join('/')}/${Date.now().toString(36)}-${sequence}`;
}

function fillRoute(route: string, params: string[]): string {
  let i = 0;
  return route.replace(/\{[a-z_]+\}/g, () => encodeURIComponent(params[i++] ?? ''));
}

/** One request: a span of its own when tracing is on (request-span.ts), from the rate budget's wait to the response. */
export function send<T extends z.ZodType>(
  config: HttpConfig,
  req: HttpRequest<T>,
  options: CallOptions = {},
): Promise<{ status: number; data: z.output<T> }> {
  const call: NeonCallInfo = {
    method: req.method,
    route: req.route,
    requestId: buildRequestId(config.requestIdPrefix, options.context),
  };
  return requestSpan(call, () => sendOnce(config, req, options, call));
}

async function sendOnce<T extends z.ZodType>(
  config: HttpConfig,
  req: HttpRequest<T>,
  options: CallOptions,
  call: NeonCallInfo,
): Promise<{ status: number; data: z.output<T> }> {
  const { requestId } = call;
  const url = new URL(config.baseUrl.replace(/\/+$/, '') + fillRoute(req.route, req.params));
  for (const [key, value] of Object.entries(req.query ?? {}))
    if (value !== undefined) url.searchParams.set(key, String(value));

  // Counted until its answer is in, not only at its grant: Neon counts it when it arrives, which may be seconds later.
  const answered = await config.rateBudget.acquireUntilAnswered(`${req.method} ${req.route}`, options.signal);

  let response: Dispatcher.ResponseData;
  let text: string;
  try {
    response = await request(url, {
      method: req.method,
      dispatcher: config.dispatcher,
      headers: {
        accept: 'application/json',
        authorization: `Bearer ${config.apiKey}`,
        'x-request-id': requestId,
        ...(req.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: req.body === undefined ? undefined : JSON.stringify(req.body),
      signal: options.signal,
      headersTimeout: config.timeoutMs,
      bodyTimeout: config.timeoutMs,
    });
    text = await response.body.text();
  } catch (err) {
    // A cancelled activity must see its own cancellation, not a network error that Temporal would retry.
    if (options.signal?.aborted) throw options.signal.reason;
    throw transportError(err, call, config.apiKey);
  } finally {
    answered();
  }

  const status = response.statusCode;
  const json = parseJson(text);
  if (status < 200 || status >= 300) {
    const body = errorBody.safeParse(json).data;
    const error = errorFromResponse(call, status, body, parseRetryAfter(response.headers['retry-after']));
    error.message = redact(error.message, [config.apiKey]);
    throw error;
  }
  // 204 No Content: e.g. deleting a branch that is already gone.
  const parsed = req.schema.safeParse(status === 204 && text === '' ? {} : json);
  if (!parsed.success) {
    throw new NeonSchemaMismatchError({ ...call, status, issues: describeIssues(parsed.error) });
  }
  return { status, data: parsed.data };
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * Socket errors and timeouts. The cause is rebuilt from the original's name, code and (redacted) message only, so
 * nothing undici attached to it (request options, headers) can carry the API key out.
 */
function transportError(err: unknown, call: NeonCallInfo, apiKey: string): NeonApiError {
  if (err instanceof NeonApiError) return err;
  const original = err instanceof Error ? err : new Error(String(err));
  const code = (original as { code?: unknown }).code;
  const message = redact(original.message, [apiKey]);
  const cause = Object.assign(new Error(message), { name: original.name, code });
  const init = { ...call, code: typeof code === 'string' ? code : undefined, cause };
  if (typeof code === 'string' && TIMEOUT_CODES.has(code)) {
    return new NeonTimeoutError(`${call.method} ${call.route} timed out (${code}); it may have been applied`, init);
  }
  return new NeonConnectionError(
    `${call.method} ${call.route}: no response (${message}); it may have been applied`,
    init,
  );
}
