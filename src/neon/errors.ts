/**
 * One error hierarchy for every way a Neon API call can fail, keyed by HTTP status. `retryable` says whether sending
 * the same request again later can succeed; whether it is *safe* to send again is the caller's business (POST, PATCH
 * and DELETE are not idempotent: look the resource up first).
 */

/** Where a failed call went: enough to find it in Neon's logs, never its headers. */
export type NeonCallInfo = { method: string; route: string; requestId: string };

type NeonApiErrorInit = NeonCallInfo & {
  status?: number;
  code?: string;
  retryable: boolean;
  retryAfterMs?: number;
  cause?: Error;
};

/** Base class: status (absent for socket errors and timeouts), Neon's `code`, the request ID and retryability. */
export class NeonApiError extends Error {
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly requestId: string;
  readonly method: string;
  readonly route: string;
  readonly retryable: boolean;
  /** From Retry-After (429, 503): the earliest moment a retry makes sense. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, init: NeonApiErrorInit) {
    super(message, init.cause ? { cause: init.cause } : undefined);
    this.name = new.target.name;
    this.status = init.status;
    this.code = init.code;
    this.requestId = init.requestId;
    this.method = init.method;
    this.route = init.route;
    this.retryable = init.retryable;
    this.retryAfterMs = init.retryAfterMs;
  }
}

type StatusInit = Omit<NeonApiErrorInit, 'retryable' | 'status'> & { status: number };

export class NeonBadRequestError extends NeonApiError {
  constructor(message: string, init: StatusInit) {
    super(message, { ...init, retryable: false });
  }
}
/** 401 and 403: the key is wrong or lacks access; retrying cannot help. */
export class NeonUnauthorizedError extends NeonBadRequestError {}
export class NeonNotFoundError extends NeonBadRequestError {}
export class NeonConflictError extends NeonBadRequestError {}
/** 422: the request is well-formed but Neon refuses it (a rule or a limit). */
export class NeonUnprocessableError extends NeonBadRequestError {}
/** A plan limit was hit (e.g. the snapshot quota); detected from Neon's code or message. */
export class NeonQuotaExceededError extends NeonBadRequestError {}

export class NeonRetryableError extends NeonApiError {
  constructor(message: string, init: Omit<NeonApiErrorInit, 'retryable'>) {
    super(message, { ...init, retryable: true });
  }
}
/** 423: another operation holds the project; always safe to retry later. */
export class NeonLockedError extends NeonRetryableError {}
export class NeonRateLimitedError extends NeonRetryableError {}
export class NeonServerError extends NeonRetryableError {}
export class NeonUnavailableError extends NeonServerError {}
/** No response: connection refused or reset, or the socket died mid-response. The request may have been applied. */
export class NeonConnectionError extends NeonRetryableError {}
export class NeonTimeoutError extends NeonConnectionError {}

/** A 2xx response whose body does not match the schema: a contract break, not something a retry fixes. */
export class NeonSchemaMismatchError extends NeonApiError {
  /** e.g. ["branches.0.name: Invalid input: expected string, received number"] */
  readonly issues: string[];
  constructor(init: NeonCallInfo & { status: number; issues: string[] }) {
    super(`${init.method} ${init.route}: response does not match the schema: ${init.issues.join('; ')}`, {
      ...init,
      retryable: false,
    });
    this.issues = init.issues;
  }
}

const QUOTA_PATTERN = /quota|limit|exceed/i;

/** Builds the error for a non-2xx response. */
export function errorFromResponse(
  call: NeonCallInfo,
  status: number,
  body: { code?: string; message?: string; request_id?: string } | undefined,
  retryAfterMs: number | undefined,
): NeonApiError {
  const detail = body?.message ?? '';
  const code = body?.code || undefined;
  const init = { ...call, status, code, requestId: body?.request_id ?? call.requestId, retryAfterMs };
  const message = `${call.method} ${call.route} failed with ${status}${code ? ` ${code}` : ''}${detail ? `: ${detail}` : ''}`;
  if (status === 423) return new NeonLockedError(message, init);
  if (status === 429) return new NeonRateLimitedError(message, init);
  if (status === 503) return new NeonUnavailableError(message, init);
  if (status >= 500) return new NeonServerError(message, init);
  if (status === 401 || status === 403) return new NeonUnauthorizedError(message, init);
  if (status === 404) return new NeonNotFoundError(message, init);
  if ((status === 422 || status === 409 || status === 400) && QUOTA_PATTERN.test(`${code ?? ''} ${detail}`)) {
    return new NeonQuotaExceededError(message, init);
  }
  if (status === 409) return new NeonConflictError(message, init);
  if (status === 422) return new NeonUnprocessableError(message, init);
  return new NeonBadRequestError(message, init);
}

/** Retry-After is either delay-seconds or an HTTP date. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (!raw) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds * 1000));
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
