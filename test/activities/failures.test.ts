import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { judgeSql } from '../../src/activities/database/checks';
import { toFailure } from '../../src/activities/failures';
import { errorFromResponse, NeonConnectionError, NeonSchemaMismatchError, NeonTimeoutError } from '../../src/neon';

const call = { method: 'POST', route: '/projects/{project_id}/snapshots/{snapshot_id}/restore', requestId: 'rq-1' };
const http = (status: number, code = '', retryAfterMs?: number) =>
  errorFromResponse(call, status, { code, message: 'm' }, retryAfterMs);

describe('toFailure: Neon errors become ApplicationFailures with stable types', () => {
  it.each([
    [http(400), 'NeonBadRequest', true],
    [http(401), 'NeonUnauthorized', true],
    [http(403), 'NeonUnauthorized', true],
    [http(404), 'NeonNotFound', true],
    [http(409), 'NeonConflict', true],
    [http(422), 'NeonBadRequest', true],
    [http(422, 'SNAPSHOTS_LIMIT_EXCEEDED'), 'NeonQuotaExceeded', true],
    [http(500), 'NeonUnavailable', false],
    [http(502), 'NeonUnavailable', false],
    [http(503), 'NeonUnavailable', false],
    [new NeonConnectionError('reset', call), 'NeonUnavailable', false],
    [new NeonTimeoutError('slow', call), 'NeonUnavailable', false],
    [
      new NeonSchemaMismatchError({ ...call, status: 200, issues: ['branch.id: required'] }),
      'NeonSchemaMismatch',
      true,
    ],
  ])('%s -> %s (nonRetryable %s)', (err, type, nonRetryable) => {
    const f = toFailure(err, 1) as ApplicationFailure;
    expect(f).toBeInstanceOf(ApplicationFailure);
    expect(f).toMatchObject({ type, nonRetryable, message: err.message });
    expect(f.nextRetryDelay).toBeUndefined();
  });

  it('423 and 429 get a nextRetryDelay: Retry-After when given, else growing with the attempt', () => {
    expect(toFailure(http(429, '', 7000), 1)).toMatchObject({
      type: 'NeonRateLimited',
      nonRetryable: false,
      nextRetryDelay: 7000,
    });
    expect(toFailure(http(423), 1)).toMatchObject({ type: 'NeonLocked', nonRetryable: false, nextRetryDelay: 1000 });
    expect(toFailure(http(423), 3)).toMatchObject({ nextRetryDelay: 4000 });
    expect(toFailure(http(423), 20)).toMatchObject({ nextRetryDelay: 30_000 });
  });

  it('passes cancellation and existing ApplicationFailures through untouched', () => {
    const cancelled = new CancelledFailure('cancelled');
    const app = ApplicationFailure.create({ type: 'X', message: 'y' });
    expect(toFailure(cancelled, 1)).toBe(cancelled);
    expect(toFailure(app, 1)).toBe(app);
  });
});

describe('judgeSql', () => {
  it('compares pg values loosely (bigint and numeric arrive as strings) and explains mismatches', () => {
    expect(judgeSql({ value: 3 }, [{ count: '3' }], 'count')).toBeNull();
    expect(judgeSql({ value: 'a' }, [{ v: 'b' }], 'v')).toBe("expected value 'a', got 'b'");
    expect(judgeSql({ value: null }, [{ v: null }], 'v')).toBeNull();
    expect(judgeSql({ value: null }, [{ v: 0 }], 'v')).toBe('expected value null, got 0');
    expect(judgeSql({ compare: { op: 'lt', value: 10 } }, [{ n: '12' }], 'n')).toBe('expected value < 10, got 12');
    expect(judgeSql({ compare: { op: 'gt', value: 0 } }, [{ n: 'abc' }], 'n')).toBe("expected a number > 0, got 'abc'");
    expect(judgeSql({ rowCount: { op: 'gte', value: 2 } }, [{}], undefined)).toBe('expected row count >= 2, got 1');
    expect(judgeSql({ value: 1 }, [], 'x')).toBe('expected a value, got no rows');
    expect(judgeSql({ value: '2025-01-01T00:00:00.000Z' }, [{ d: new Date('2025-01-01T00:00:00Z') }], 'd')).toBeNull();
  });
});
