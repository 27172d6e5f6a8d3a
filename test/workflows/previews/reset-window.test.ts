/**
 * Which failures of a preview's reset become the ResetUnavailable refusal: a request Neon refused, within 24 hours of
 * dev's restore from a snapshot. Anything else stays the failure it was.
 */
import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import { unavailableAfterRestore } from '../../../src/workflows/previews/reset';

const HOUR_MS = 3_600_000;
const restoredAt = '2026-01-01T00:00:00Z';
const dev = { createdAt: restoredAt, restoredFrom: 'snap-1' };
const at = (hours: number) => Date.parse(restoredAt) + hours * HOUR_MS;
const refused = (type: string) =>
  new ActivityFailure(
    'failed',
    'resetBranch',
    '1',
    RetryState.NON_RETRYABLE_FAILURE,
    undefined,
    ApplicationFailure.create({ type, message: 'refused', nonRetryable: true }),
  );

test('a refused reset within 24 hours of a snapshot restore of dev: says by when a reset is possible', () => {
  const failure = unavailableAfterRestore(refused('NeonConflict'), dev, 'preview-a', at(3));
  expect(failure).toMatchObject({ type: 'ResetUnavailable', nonRetryable: true });
  expect(failure?.message).toContain('possible by 2026-01-02T00:00:00.000Z at the latest');
  expect(unavailableAfterRestore(refused('NeonBadRequest'), dev, 'preview-a', at(23.9))?.type).toBe('ResetUnavailable');
});

test('past the window, for a dev not restored from a snapshot, or for another failure: unchanged', () => {
  expect(unavailableAfterRestore(refused('NeonConflict'), dev, 'preview-a', at(24))).toBeUndefined();
  expect(unavailableAfterRestore(refused('NeonConflict'), { ...dev, restoredFrom: null }, 'p', at(1))).toBeUndefined();
  expect(unavailableAfterRestore(refused('NeonNotFound'), dev, 'preview-a', at(1))).toBeUndefined();
  expect(unavailableAfterRestore(refused('NeonUnavailable'), dev, 'preview-a', at(1))).toBeUndefined();
  expect(unavailableAfterRestore(new Error('x'), dev, 'preview-a', at(1))).toBeUndefined();
});
