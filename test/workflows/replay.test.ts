import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';
import { NON_RETRYABLE_FAILURE_TYPES } from '../../src/activities';
import { NON_RETRYABLE_ERROR_TYPES } from '../../src/workflows/runtime/activity-options';
import { loadRecordedHistories } from '../support/histories';

const histories = loadRecordedHistories();

// scheduledRun and deliverNotification are not recorded: no test records them.
test('every workflow type has a recorded history (test/replay.test.ts replays them all)', () => {
  const types = histories.map(
    (h) => h.history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name,
  );
  expect(new Set(types)).toEqual(
    new Set([
      'healthCheck',
      'projectCoordinator',
      'setupEnvironments',
      'createPreview',
      'resetPreview',
      'deletePreview',
      'listPreviews',
      'snapshotInventory',
      'promote',
      'refreshDev',
      'rollback',
      'janitor',
      'unfence',
      'expireSnapshot',
      'accountRateBudget',
    ]),
  );
});

test('a deliberately changed promote fails replay of a recorded promotion', async () => {
  const h = histories.find((x) => x.name === 'promote');
  if (!h) throw new Error('test/histories/promote.json is missing (record with RECORD_HISTORIES=1)');
  await expect(
    Worker.runReplayHistory({ workflowsPath: require.resolve('./fixtures/changed-promote') }, h.history, h.workflowId),
  ).rejects.toBeInstanceOf(DeterminismViolationError);
});

test('workflows stop retrying every failure retrying cannot fix, but retry a reconcile that lost a race', () => {
  for (const type of [...NON_RETRYABLE_FAILURE_TYPES, 'WritesDetected', 'FenceFailed', 'LedgerDiverged']) {
    expect(NON_RETRYABLE_ERROR_TYPES).toContain(type);
  }
  expect(NON_RETRYABLE_ERROR_TYPES).not.toContain('ReconcileFailed');
});
